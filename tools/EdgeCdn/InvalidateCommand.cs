using System.CommandLine;
using EdgeCache.InvalidationLog;
using Spectre.Console;

namespace EdgeCdn;

/// <summary>
/// <c>edgecdn invalidate PATH... | --prefix P | --pattern '/img/*' | --all</c>: writes one record to the log, prints
/// its id, and waits until every live node has acked it (per region, acked / alive).
/// </summary>
public sealed class InvalidateCommand
{
    private static readonly TimeSpan HeartbeatReadInterval = TimeSpan.FromSeconds(2);

    private readonly LogLocation _location;
    private readonly ToolConsole _console;

    private readonly Argument<string[]> _paths = new("PATH")
    {
        Description = "Exact paths to invalidate, each from '/' without the query string (every query-string and header variant goes).",
        Arity = ArgumentArity.ZeroOrMore,
    };

    private readonly Option<string?> _prefix = new("--prefix") { Description = "Invalidate every path that starts with P.", HelpName = "P" };

    private readonly Option<string?> _pattern = new("--pattern") { Description = "Invalidate the paths a CloudFront-style pattern matches ('*' any characters, '?' one), e.g. '/img/*'.", HelpName = "PATTERN" };

    private readonly Option<bool> _all = new("--all") { Description = "Invalidate everything cached." };

    private readonly Option<bool> _noWait = new("--no-wait") { Description = "Return once the invalidation is in the log, without waiting for acks." };

    private readonly Option<TimeSpan> _timeout = new("--timeout")
    {
        Description = "How long to wait for every live node to ack (e.g. 90s, 5m). Default 5m.",
        HelpName = "DURATION",
        DefaultValueFactory = _ => TimeSpan.FromMinutes(5),
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (Durations.TryParse(text, out var duration))
            {
                return duration;
            }

            result.AddError($"--timeout: '{text}' is not a duration (e.g. 90s, 5m, 1h)");
            return default;
        },
    };

    private readonly Option<string?> _requestedBy = new("--requested-by") { Description = "Who asked, recorded in the invalidation. Default: user@host.", HelpName = "WHO" };

    public InvalidateCommand(LogLocation location, ToolConsole console)
    {
        _location = location;
        _console = console;
        Command = new Command("invalidate", "Remove objects from every edge node's cache, and wait until every live node has done it.");
        Command.Arguments.Add(_paths);
        foreach (var option in (Option[])[_prefix, _pattern, _all, _noWait, _timeout, _requestedBy])
        {
            Command.Options.Add(option);
        }

        Command.SetAction(RunAsync);
    }

    public Command Command { get; }

    private InvalidationTarget Target(ParseResult parse)
    {
        var paths = parse.GetValue(_paths) ?? [];
        var prefix = parse.GetValue(_prefix);
        var pattern = parse.GetValue(_pattern);
        var all = parse.GetValue(_all);
        var given = (paths.Length > 0 ? 1 : 0) + (prefix is not null ? 1 : 0) + (pattern is not null ? 1 : 0) + (all ? 1 : 0);
        if (given == 0)
        {
            throw new UsageException("invalidate: nothing to invalidate; give one or more PATHs, or --prefix, --pattern or --all");
        }

        if (given > 1)
        {
            throw new UsageException("invalidate: give PATHs, --prefix, --pattern or --all: only one of them");
        }

        for (var i = 0; i < paths.Length; i++)
        {
            if (InvalidationTarget.CheckPath(paths[i]) is { } problem)
            {
                throw new UsageException($"PATH {i + 1}: {problem}");
            }
        }

        if (!InvalidationTarget.TryCreate(paths.Length > 0 ? paths : null, prefix, pattern, all, out var target, out var error))
        {
            throw new UsageException("--" + error);
        }

        return target;
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var target = Target(parse);
        var endpoint = await _location.ResolveAsync(parse, _console, cancellationToken).ConfigureAwait(false);
        var timeout = parse.GetValue(_timeout);
        var requestedBy = parse.GetValue(_requestedBy) ?? $"{Environment.UserName}@{Environment.MachineName}";

        using var s3 = endpoint.CreateClient();
        var bucket = new ControlBucket(s3, endpoint.Bucket, endpoint.KeyPrefix);
        var record = await new InvalidationWriter(bucket, _console.Time).WriteAsync(target, requestedBy, cancellationToken).ConfigureAwait(false);
        var started = _console.Time.GetUtcNow();
        await _console.Out.WriteLineAsync($"Invalidation {record.Id}: {target.Description}").ConfigureAwait(false);
        if (parse.GetValue(_noWait))
        {
            await _console.Out.WriteLineAsync($"Not waiting (--no-wait); 'edgecdn invalidations show {record.Id}' shows which nodes have applied it.").ConfigureAwait(false);
            return ExitCodes.Success;
        }

        try
        {
            return await WaitAsync(bucket, record.Id, started, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await _console.Error.WriteLineAsync($"edgecdn: stopped waiting; invalidation {record.Id} is in the log and nodes still apply it ('edgecdn invalidations show {record.Id}').").ConfigureAwait(false);
            return ExitCodes.Interrupted;
        }
    }

    private async Task<int> WaitAsync(ControlBucket bucket, string id, DateTimeOffset started, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var time = _console.Time;
        var deadline = started + timeout;
        var heartbeats = await bucket.ReadHeartbeatsAsync(cancellationToken).ConfigureAwait(false);
        var heartbeatsRead = time.GetUtcNow();

        async Task<FleetSnapshot> WaitLoopAsync(Action<FleetSnapshot> show)
        {
            while (true)
            {
                var acks = await bucket.ListAcksAsync(id, cancellationToken).ConfigureAwait(false);
                var now = time.GetUtcNow();
                var snapshot = FleetSnapshot.Of(heartbeats, acks, now);
                show(snapshot);
                if (snapshot.Complete || snapshot.Alive == 0 || now >= deadline)
                {
                    return snapshot;
                }

                await Task.Delay(_console.AckPollInterval, time, cancellationToken).ConfigureAwait(false);
                if (time.GetUtcNow() - heartbeatsRead >= HeartbeatReadInterval)
                {
                    heartbeats = await bucket.ReadHeartbeatsAsync(cancellationToken).ConfigureAwait(false);
                    heartbeatsRead = time.GetUtcNow();
                }
            }
        }

        FleetSnapshot final;
        if (_console.Interactive)
        {
            var ansi = _console.CreateAnsiConsole();
            final = await ansi.Live(new Text("Waiting for acks...")).StartAsync(ctx => WaitLoopAsync(snapshot =>
            {
                ctx.UpdateTarget(Progress(snapshot));
                ctx.Refresh();
            })).ConfigureAwait(false);
        }
        else
        {
            string? shown = null;
            final = await WaitLoopAsync(snapshot =>
            {
                if (snapshot.Summary != shown && snapshot.Alive > 0)
                {
                    shown = snapshot.Summary;
                    _console.Out.WriteLine($"  acked / alive: {shown}");
                }
            }).ConfigureAwait(false);
        }

        var elapsed = Durations.Format(time.GetUtcNow() - started);
        if (final.Alive == 0)
        {
            await _console.Out.WriteLineAsync($"No live edge nodes (none has written a heartbeat to {bucket.Keys.Nodes} in the last {NodeHeartbeat.AliveHeartbeats} heartbeat periods): nothing to wait for.").ConfigureAwait(false);
            return ExitCodes.Success;
        }

        if (final.Complete)
        {
            await _console.Out.WriteLineAsync($"Completed in {elapsed}: all {final.Alive} live nodes acked ({final.Summary}).").ConfigureAwait(false);
            return ExitCodes.Success;
        }

        var now = time.GetUtcNow();
        var waiting = string.Join(", ", final.Waiting.Select(h => $"{h.Region}/{h.Node} (heartbeat {Durations.Format(now - h.Time)} ago, lag {h.LagSeconds:0.#} s)"));
        await _console.Error.WriteLineAsync($"edgecdn: timed out after {Durations.Format(timeout)}: {final.Waiting.Count} of {final.Alive} live nodes have not acked {id}: {waiting}. It stays in the log; they apply it when they catch up.").ConfigureAwait(false);
        return ExitCodes.TimedOut;
    }

    private static Table Progress(FleetSnapshot snapshot)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumn("Region").AddColumn("Acked / alive");
        foreach (var region in snapshot.Regions)
        {
            table.AddRow(new Text(region.Region), new Text($"{region.Acked} / {region.Alive}"));
        }

        return table;
    }
}
