using System.Text.Json;
using System.Text.RegularExpressions;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// The repository's observability/ files as the stack uses them: the alert rule and scrape job templates (with their
/// placeholders filled in, as components/observabilityFiles.ts does) and the Grafana dashboard's panel queries.
/// </summary>
public static partial class ObservabilityFiles
{
    public static string Directory => Path.Combine(RepoRoot.Path, "observability");

    /// <summary>Fills every placeholder of an observability/ template; a placeholder without a value fails the test.</summary>
    public static string Render(string template, IReadOnlyDictionary<string, string> values)
    {
        var text = File.ReadAllText(Path.Combine(Directory, template));
        return Placeholder().Replace(text, match =>
        {
            if (values.TryGetValue(match.Groups[1].Value, out var value))
            {
                return value;
            }

            Assert.Fail($"{template}: no value for the placeholder {match.Value}");
            return "";
        });
    }

    /// <summary>Every query of every dashboard panel: the panel's title, the query and its legend format.</summary>
    public static IReadOnlyList<(string Panel, string Expr, string Legend)> DashboardQueries()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "grafana", "edgecdn.json")));
        return [.. json.RootElement.GetProperty("panels").EnumerateArray()
            .Where(panel => panel.TryGetProperty("targets", out _))
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray().Select(target => (
                panel.GetProperty("title").GetString()!,
                target.GetProperty("expr").GetString()!,
                target.GetProperty("legendFormat").GetString()!)))];
    }

    /// <summary>The dashboard's template variables that query label values: name, label, and the series matched.</summary>
    public static IReadOnlyList<(string Name, string Label, string Match)> DashboardVariables()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "grafana", "edgecdn.json")));
        return [.. json.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Where(v => v.GetProperty("type").GetString() == "query")
            .Select(v =>
            {
                var match = LabelValues().Match(v.GetProperty("definition").GetString()!);
                Assert.True(match.Success, "a variable that is not label_values(<series>, <label>)");
                return (v.GetProperty("name").GetString()!, match.Groups[2].Value, match.Groups[1].Value);
            })];
    }

    /// <summary>The labels a legend format names ({{label}}): what each series of its query must carry.</summary>
    public static IReadOnlyList<string> LegendLabels(string legend) =>
        [.. LegendLabel().Matches(legend).Select(m => m.Groups[1].Value)];

    [GeneratedRegex(@"\$\{([A-Za-z0-9]*)\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^label_values\((.+),\s*([a-z_]+)\)$")]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"\{\{\s*([a-z_]+)\s*\}\}")]
    private static partial Regex LegendLabel();
}
