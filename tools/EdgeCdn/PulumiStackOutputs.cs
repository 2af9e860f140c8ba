using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;

namespace EdgeCdn;

/// <summary>The stack's outputs, from <c>pulumi stack output --json --stack NAME</c> (the CLI's own login and backend).</summary>
public static class PulumiStackOutputs
{
    public static async Task<Dictionary<string, JsonElement>> ReadAsync(string pulumi, string stack, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(pulumi) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["stack", "output", "--json", "--stack", stack])
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new UsageException($"--stack: could not run '{pulumi}'");
        }
        catch (Win32Exception)
        {
            throw new UsageException($"--stack: '{pulumi}' was not found (the Pulumi CLI reads the stack's outputs); install it, or give --bucket and --region");
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                var why = (await stderr.ConfigureAwait(false)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? $"exit {process.ExitCode}";
                throw new UsageException($"--stack {stack}: pulumi stack output failed: {why}");
            }

            try
            {
                using var json = JsonDocument.Parse(await stdout.ConfigureAwait(false));
                if (json.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new UsageException($"--stack {stack}: pulumi stack output did not print a JSON object");
                }

                return json.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
            }
            catch (JsonException ex)
            {
                throw new UsageException($"--stack {stack}: pulumi stack output did not print JSON ({ex.Message})");
            }
        }
    }
}
