using Spectre.Console;

namespace EdgeCdn;

/// <summary>
/// Where edgecdn writes and what it runs: the process's console, or a test's writers. Progress is redrawn in place
/// only on an interactive terminal; redirected output gets one line per change, which logs and CI keep readable.
/// </summary>
public sealed class ToolConsole
{
    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    public bool Interactive { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The Pulumi CLI that --stack runs.</summary>
    public string Pulumi { get; init; } = "pulumi";

    /// <summary>How often a waiting invalidate looks for new acks.</summary>
    public TimeSpan AckPollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    public static ToolConsole FromProcess() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        Interactive = !Console.IsOutputRedirected,
    };

    public IAnsiConsole CreateAnsiConsole()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Out),
            Ansi = Interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = Interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = Interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!Interactive)
        {
            // Redirected output has no width; wide enough that a table row is one line in a log.
            console.Profile.Width = 200;
        }

        return console;
    }
}
