using EdgeCdn;

// edgecdn: invalidate cached objects on every edge node, and see how far the fleet has applied them.
//   edgecdn --stack prod invalidate /index.html /app.js
//   edgecdn --bucket my-control --region us-east-1 invalidations list
return await EdgeCdnApp.RunAsync(args, ToolConsole.FromProcess());
