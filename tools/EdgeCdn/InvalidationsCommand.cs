using System.CommandLine;
using System.Globalization;
using EdgeCache.InvalidationLog;
using Spectre.Console;

namespace EdgeCdn;

/// <summary><c>edgecdn invalidations list</c> (newest first) and <c>edgecdn invalidations show ID</c> (per-node status).</summary>
public sealed class InvalidationsCommand
{
    private readonly LogLocation _location;
    private readonly ToolConsole _console;
    private readonly Option<int> _limit = new("--limit") { Description = "How many of the newest invalidations to list. Default 20.", DefaultValueFactory = _ => 20, HelpName = "N" };
    private readonly Argument<string> _id = new("ID") { Description = "The invalidation's id, as invalidate printed it." };

    public InvalidationsCommand(LogLocation location, ToolConsole console)
    {
        _location = location;
        _console = console;
        var list = new Command("list", "The newest invalidations, with how many live nodes have acked each.");
        list.Options.Add(_limit);
        list.SetAction(ListAsync);
        var show = new Command("show", "One invalidation, and which nodes have applied it.");
        show.Arguments.Add(_id);
        show.SetAction(ShowAsync);
        Command = new Command("invalidations", "What is in the invalidation log.");
        Command.Subcommands.Add(list);
        Command.Subcommands.Add(show);
    }

    public Command Command { get; }

    private async Task<int> ListAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var limit = parse.GetValue(_limit);
        if (limit < 1)
        {
            throw new UsageException($"--limit: {limit} must be at least 1");
        }

        var endpoint = await _location.ResolveAsync(parse, _console, cancellationToken).ConfigureAwait(false);
        using var s3 = endpoint.CreateClient();
        var bucket = new ControlBucket(s3, endpoint.Bucket, endpoint.KeyPrefix);
        var ids = await bucket.ListRecordIdsAsync(null, cancellationToken).ConfigureAwait(false);
        var newest = ids.TakeLast(limit).Reverse().ToList();
        var heartbeats = await bucket.ReadHeartbeatsAsync(cancellationToken).ConfigureAwait(false);
        var now = _console.Time.GetUtcNow();
        var rows = await Task.WhenAll(newest.Select(async id =>
        {
            var record = bucket.ReadRecordAsync(id, cancellationToken);
            var acks = bucket.ListAcksAsync(id, cancellationToken);
            return (Id: id, Record: await record.ConfigureAwait(false), Snapshot: FleetSnapshot.Of(heartbeats, await acks.ConfigureAwait(false), now));
        })).ConfigureAwait(false);

        var table = new Table().Border(TableBorder.Simple);
        foreach (var column in (string[])["Id", "Created (UTC)", "Requested by", "Target", "Acked / alive"])
        {
            table.AddColumn(column);
        }

        foreach (var (id, record, snapshot) in rows)
        {
            table.AddRow(
                new Text(id),
                new Text(record?.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-"),
                new Text(record?.RequestedBy ?? "-"),
                new Text(record?.Target.Description ?? "(malformed: nodes skip it)"),
                new Text($"{snapshot.Regions.Sum(r => r.Acked)} / {snapshot.Alive}"));
        }

        var console = _console.CreateAnsiConsole();
        console.Write(table);
        console.WriteLine($"{newest.Count} of {ids.Count} invalidations in s3://{endpoint.Bucket}/{bucket.Keys.Records}");
        return ExitCodes.Success;
    }

    private async Task<int> ShowAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var id = parse.GetValue(_id) ?? "";
        if (!InvalidationId.IsValid(id))
        {
            throw new UsageException($"ID: '{id}' is not an invalidation id (like 20261125T140312.123Z-5f1c2a9b7e3d)");
        }

        var endpoint = await _location.ResolveAsync(parse, _console, cancellationToken).ConfigureAwait(false);
        using var s3 = endpoint.CreateClient();
        var bucket = new ControlBucket(s3, endpoint.Bucket, endpoint.KeyPrefix);
        var bytes = await bucket.GetRecordAsync(id, cancellationToken).ConfigureAwait(false);
        if (bytes is null)
        {
            await _console.Error.WriteLineAsync($"edgecdn: invalidation {id} is not in s3://{endpoint.Bucket}/{bucket.Keys.Records} (records expire after the bucket's lifecycle period)").ConfigureAwait(false);
            return ExitCodes.Failed;
        }

        var console = _console.CreateAnsiConsole();
        console.WriteLine($"Invalidation {id}");
        if (InvalidationRecord.TryParse(bytes, id, out var record, out var error))
        {
            console.WriteLine($"  created      {record.CreatedAt:yyyy-MM-dd HH:mm:ss.fff}Z");
            console.WriteLine($"  requested by {record.RequestedBy ?? "-"}");
            console.WriteLine($"  target       {record.Target.Description}");
            foreach (var path in record.Target.Paths?.Take(20) ?? [])
            {
                console.WriteLine($"               {path}");
            }

            if (record.Target.Paths is { Count: > 20 } paths)
            {
                console.WriteLine($"               ... and {paths.Count - 20} more");
            }
        }
        else
        {
            console.WriteLine($"  malformed: {error} (nodes skip it)");
        }

        var acks = await bucket.ListAcksAsync(id, cancellationToken).ConfigureAwait(false);
        var heartbeats = await bucket.ReadHeartbeatsAsync(cancellationToken).ConfigureAwait(false);
        var now = _console.Time.GetUtcNow();
        var table = new Table().Border(TableBorder.Simple);
        foreach (var column in (string[])["Region", "Node", "Status", "Last heartbeat", "Lag"])
        {
            table.AddColumn(column);
        }

        var known = new HashSet<(string, string)>();
        foreach (var heartbeat in heartbeats)
        {
            known.Add((heartbeat.Region, heartbeat.Node));
            var acked = acks.Contains((heartbeat.Region, heartbeat.Node));
            var status = acked ? "acked" : heartbeat.IsAlive(now) ? "pending" : "not alive";
            table.AddRow(new Text(heartbeat.Region), new Text(heartbeat.Node), new Text(status), new Text(Durations.Format(now - heartbeat.Time) + " ago"), new Text($"{heartbeat.LagSeconds:0.#} s"));
        }

        foreach (var (region, node) in acks.Where(a => !known.Contains(a)).Order())
        {
            table.AddRow(new Text(region), new Text(node), new Text("acked"), new Text("-"), new Text("-"));
        }

        console.Write(table);
        var snapshot = FleetSnapshot.Of(heartbeats, acks, now);
        console.WriteLine(snapshot.Alive == 0 ? "No live nodes." : $"Acked by {snapshot.Alive - snapshot.Waiting.Count} of {snapshot.Alive} live nodes ({snapshot.Summary}).");
        return ExitCodes.Success;
    }
}
