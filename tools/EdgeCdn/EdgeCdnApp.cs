using System.CommandLine;
using System.Net.Sockets;
using Amazon.Runtime;

namespace EdgeCdn;

/// <summary>The command tree and its exit codes (<see cref="ExitCodes"/>); tests run it in-process with their own writers.</summary>
public static class EdgeCdnApp
{
    public static async Task<int> RunAsync(string[] args, ToolConsole console, CancellationToken cancellationToken = default)
    {
        var location = new LogLocation();
        var root = new RootCommand("edgecdn: invalidate cached objects on every EdgeCache edge node, through the fleet's invalidation log in its control bucket.");
        foreach (var option in location.Options)
        {
            root.Options.Add(option);
        }

        root.Subcommands.Add(new InvalidateCommand(location, console).Command);
        root.Subcommands.Add(new InvalidationsCommand(location, console).Command);
        root.Subcommands.Add(new NodesCommand(location, console).Command);

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await console.Error.WriteLineAsync("edgecdn: " + error.Message).ConfigureAwait(false);
            }

            return ExitCodes.Usage;
        }

        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (UsageException ex)
        {
            await console.Error.WriteLineAsync("edgecdn: " + ex.Message).ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (OperationCanceledException ex) when (ex.InnerException is not TimeoutException)
        {
            // Ctrl+C (System.CommandLine cancels the action's token).
            await console.Error.WriteLineAsync("edgecdn: interrupted").ConfigureAwait(false);
            return ExitCodes.Interrupted;
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or SocketException or IOException or OperationCanceledException)
        {
            var code = ex is AmazonServiceException service && service.ErrorCode is { Length: > 0 } c ? $" ({c})" : "";
            await console.Error.WriteLineAsync($"edgecdn: the control bucket could not be reached{code}: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
    }
}
