using System.CommandLine;
using Spectre.Console;

namespace EdgeCdn;

/// <summary><c>edgecdn nodes</c>: every node's last heartbeat: region, node, age, last applied invalidation, lag.</summary>
public sealed class NodesCommand
{
    private readonly LogLocation _location;
    private readonly ToolConsole _console;

    public NodesCommand(LogLocation location, ToolConsole console)
    {
        _location = location;
        _console = console;
        Command = new Command("nodes", "The edge nodes following the log: last heartbeat, last applied invalidation, lag.");
        Command.SetAction(RunAsync);
    }

    public Command Command { get; }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var endpoint = await _location.ResolveAsync(parse, _console, cancellationToken).ConfigureAwait(false);
        using var s3 = endpoint.CreateClient();
        var bucket = new EdgeCache.InvalidationLog.ControlBucket(s3, endpoint.Bucket, endpoint.KeyPrefix);
        var heartbeats = await bucket.ReadHeartbeatsAsync(cancellationToken).ConfigureAwait(false);
        var now = _console.Time.GetUtcNow();
        var table = new Table().Border(TableBorder.Simple);
        foreach (var column in (string[])["Region", "Node", "Status", "Last heartbeat", "Last applied", "Lag"])
        {
            table.AddColumn(column);
        }

        foreach (var heartbeat in heartbeats)
        {
            table.AddRow(
                new Text(heartbeat.Region),
                new Text(heartbeat.Node),
                new Text(heartbeat.IsAlive(now) ? "alive" : "not alive"),
                new Text(Durations.Format(now - heartbeat.Time) + " ago"),
                new Text(heartbeat.LastAppliedId ?? "-"),
                new Text($"{heartbeat.LagSeconds:0.#} s"));
        }

        var console = _console.CreateAnsiConsole();
        console.Write(table);
        var alive = heartbeats.Where(h => h.IsAlive(now)).ToList();
        console.WriteLine($"{alive.Count} live nodes in {alive.Select(h => h.Region).Distinct().Count()} regions; {heartbeats.Count - alive.Count} not alive (no heartbeat for {EdgeCache.InvalidationLog.NodeHeartbeat.AliveHeartbeats} periods).");
        return ExitCodes.Success;
    }
}
