using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using EdgeCache.Tests.Infrastructure;
using EdgeCdn;
using Microsoft.AspNetCore.Http;
using YamlDotNet.Serialization;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// The fleet's metrics as the clusters collect them, on loopback: two edge node processes in two regions (each
/// following a control bucket's invalidation log, with a disk tier), scraped by Debian's Prometheus with the
/// repository's scrape job (observability/scrape.template.yml) and the alert rules rendered from
/// observability/alerts.template.yml. Every dashboard panel query and every alert expression is evaluated through
/// Prometheus's HTTP API, and every alert is made to fire.
/// </summary>
[Collection(S3Collection.Name)]
public sealed partial class FleetObservabilityTests
{
    private const string RegionA = "test-r1";
    private const string RegionB = "test-r2";
    private const string NodeA = "edgecache-a";
    private const string NodeB = "edgecache-b";

    /// <summary>Thresholds that every alert's signal in this test crosses, so each alert must fire with its labels.</summary>
    private static readonly Dictionary<string, string> FiringThresholds = new(StringComparer.Ordinal)
    {
        ["runbookUrl"] = "docs/operations.md",
        ["http5xxRatio"] = "0",
        ["hitRatioDropFactor"] = "0.5",
        ["invalidationLagSeconds"] = "-1",
        ["restartsPerHour"] = "-1",
        ["memoryLimitRatio"] = "0",
    };

    /// <summary>Each alert, the labels its expression keeps, and where it must fire by the end of the test.</summary>
    private static readonly Dictionary<string, (string[] Labels, (string Region, string? Node)[] Fires)> Alerts = new(StringComparer.Ordinal)
    {
        // Node B is stopped last: its region has no ready node left.
        ["EdgeRegionNoReadyNodes"] = (["region"], [(RegionB, null)]),
        ["EdgeHigh5xxRatio"] = (["region"], [(RegionA, null), (RegionB, null)]),
        ["EdgeOriginDown"] = (["origin", "region"], [(RegionA, null), (RegionB, null)]),
        // Yesterday (backfilled) 90 % of requests were hits; today far fewer.
        ["EdgeHitRatioHalved"] = (["region"], [(RegionA, null), (RegionB, null)]),
        // Node A's disk tier fails a write.
        ["EdgeDiskTierDegraded"] = (["node", "region"], [(RegionA, NodeA)]),
        ["EdgeInvalidationLag"] = (["node", "region"], [(RegionA, NodeA), (RegionB, NodeB)]),
        ["EdgeNodeRestarting"] = (["node", "region"], [(RegionA, NodeA), (RegionB, NodeB)]),
        ["EdgeMemoryNearLimit"] = (["node", "region"], [(RegionA, NodeA), (RegionB, NodeB)]),
    };

    [PrometheusFact]
    public async Task Every_panel_query_and_alert_expression_returns_labelled_data_and_every_alert_fires()
    {
        var started = DateTime.UtcNow;
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3rverProcess.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3rverProcess.SecretKey);
        await using var control = await ControlBucketServer.StartAsync();
        var origin = await TestOrigin.StartAsync(context =>
        {
            var path = context.Request.Path.Value ?? "/";
            context.Response.StatusCode = path switch
            {
                "/missing" => StatusCodes.Status404NotFound,
                "/broken" => StatusCodes.Status502BadGateway,
                _ => StatusCodes.Status200OK,
            };
            context.Response.Headers.CacheControl = context.Response.StatusCode == 200 ? "max-age=3600" : "no-store";
            return context.Response.WriteAsync(new string('x', 2048));
        });
        var nodes = await Task.WhenAll(
            FleetNodeProcess.StartAsync(RegionA, NodeA, origin.Url, control.ServiceUrl, heartbeatSeconds: 1, probeIntervalSeconds: 1),
            FleetNodeProcess.StartAsync(RegionB, NodeB, origin.Url, control.ServiceUrl, heartbeatSeconds: 1, probeIntervalSeconds: 1));
        var degradedDisk = nodes[0].DiskDirectory;
        try
        {
            var rules = Regex.Replace(ObservabilityFiles.Render("alerts.template.yml", FiringThresholds), @"(?m)^(\s+for:) \S+$", "$1 0s");
            await using var prometheus = await PrometheusServer.StartAsync(PrometheusConfig(nodes), rules, Yesterday(DateTimeOffset.UtcNow));

            // Prometheus applies its targets a few seconds after it starts: traffic from before its first scrape would
            // be in the series' first samples, which no rate counts.
            await InvalidationFleet.EventuallyAsync(async () => (await prometheus.QueryAsync("up == 1")).Count == 2, "both nodes scraped", seconds: 20);

            // Misses, a hit, a 404 and a 502 from the origin on each node.
            foreach (var node in nodes)
            {
                foreach (var path in (string[])["/a", "/b", "/c", "/a", "/missing", "/broken"])
                {
                    (await node.Viewer.GetAsync(path)).Dispose();
                }
            }

            // The 5xx ratio is a rate: it rises only if a scrape saw the 502 series before the later 502s. A loaded
            // machine can miss scrapes, and a series first seen with both counted never increases.
            await InvalidationFleet.EventuallyAsync(async () => (await prometheus.QueryAsync("edgecache_responses_total{code=~\"5..\"}")).Count == 2, "both nodes' 502 scraped", seconds: 30);

            // An invalidation every node applies: the last-applied panel has an id to show.
            Assert.Equal(0, await EdgeCdnAsync(control, ["invalidate", "/a", "--no-wait"]));
            foreach (var node in nodes)
            {
                await InvalidationFleet.EventuallyAsync(async () => await node.MetricAsync("edgecache_invalidation_applied_total") >= 1, $"{node.Node} applies the invalidation");
            }

            // Node A's disk tier fails its next write: its directory is now a file (moved away in one step, since the
            // node may be writing in it).
            Directory.Move(degradedDisk, degradedDisk + "-moved");
            await File.WriteAllTextAsync(degradedDisk, "not a directory");
            (await nodes[0].Viewer.GetAsync("/d")).Dispose();
            await InvalidationFleet.EventuallyAsync(async () => await nodes[0].MetricAsync("edgecache_disk_degraded") == 1, "node A's disk tier degraded");

            // The origin goes away: the next fetches fail (502, origin errors) and the probes find it down.
            await origin.DisposeAsync();
            foreach (var node in nodes)
            {
                using var failed = await node.Viewer.GetAsync("/after-origin-stopped");
                Assert.Equal(502, (int)failed.StatusCode);
            }

            await AssertFiringAsync(prometheus, ["EdgeOriginDown"]);

            foreach (var (panel, expr, legend) in ObservabilityFiles.DashboardQueries())
            {
                var query = expr.Replace("$__rate_interval", "1m", StringComparison.Ordinal)
                    .Replace("$region", ".*", StringComparison.Ordinal)
                    .Replace("$node", ".*", StringComparison.Ordinal);
                Assert.DoesNotContain("$", query, StringComparison.Ordinal);
                var series = await EventuallyDataAsync(prometheus, query, $"panel \"{panel}\"");
                foreach (var labels in series)
                {
                    foreach (var label in ObservabilityFiles.LegendLabels(legend))
                    {
                        Assert.True(labels.ContainsKey(label), $"panel \"{panel}\": a series without the legend's label {label}: {query}");
                    }

                    if (labels.TryGetValue("region", out var region))
                    {
                        Assert.Contains(region, (string[])[RegionA, RegionB]);
                    }
                }
            }

            foreach (var (name, label, match) in ObservabilityFiles.DashboardVariables())
            {
                var values = await prometheus.LabelValuesAsync(label, match.Replace("$region", ".*", StringComparison.Ordinal));
                Assert.True(values.Count == 2, $"variable {name}: {string.Join(", ", values)}");
            }

            var expressions = AlertExpressions(rules);
            Assert.Equal(Alerts.Keys.Order(StringComparer.Ordinal), expressions.Keys.Order(StringComparer.Ordinal));
            foreach (var (alert, expr) in expressions.Where(e => e.Key != "EdgeRegionNoReadyNodes"))
            {
                var series = await EventuallyDataAsync(prometheus, expr, $"alert {alert}");
                Assert.All(series, labels => Assert.Equal(Alerts[alert].Labels, labels.Keys.Order(StringComparer.Ordinal)));
            }

            await AssertFiringAsync(prometheus, Alerts.Keys.Where(a => a != "EdgeRegionNoReadyNodes"));

            // The last node of region B stops: its region has no ready node.
            await nodes[1].KillAsync();
            await AssertFiringAsync(prometheus, ["EdgeRegionNoReadyNodes"]);

            Assert.All(await prometheus.RulesAsync(), rule => Assert.True(rule.Health == "ok", $"{rule.Name}: {rule.Health} {rule.Error}"));
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(150), $"took {DateTime.UtcNow - started}");
        }
        finally
        {
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));
            await origin.DisposeAsync();
            File.Delete(degradedDisk);
            if (Directory.Exists(degradedDisk + "-moved"))
            {
                Directory.Delete(degradedDisk + "-moved", recursive: true);
            }
        }
    }

    /// <summary>
    /// The clusters' scrape job, once per region (one server scrapes both here): each node a static target carrying the
    /// pod metadata Kubernetes service discovery gives a running edge pod's admin port. Scrapes and rule evaluations
    /// every second.
    /// </summary>
    private static string PrometheusConfig(IReadOnlyList<FleetNodeProcess> nodes)
    {
        var deserializer = new DeserializerBuilder().Build();
        var jobs = nodes.Select(node =>
        {
            var job = deserializer.Deserialize<Dictionary<object, object>>(
                ObservabilityFiles.Render("scrape.template.yml", new Dictionary<string, string> { ["namespace"] = "edgecache", ["region"] = node.Region }));
            Assert.True(job.Remove("kubernetes_sd_configs"), "the scrape job finds pods with kubernetes_sd_configs");
            job["job_name"] = $"{job["job_name"]}-{node.Region}";
            job["scrape_interval"] = "1s";
            job["scrape_timeout"] = "1s";
            job["static_configs"] = new List<object>
            {
                new Dictionary<string, object>
                {
                    ["targets"] = new List<object> { $"127.0.0.1:{node.AdminPort}" },
                    ["labels"] = new Dictionary<string, object>
                    {
                        ["__meta_kubernetes_pod_name"] = node.Node,
                        ["__meta_kubernetes_pod_phase"] = "Running",
                        ["__meta_kubernetes_pod_label_app_kubernetes_io_name"] = "edgecache",
                        ["__meta_kubernetes_pod_container_port_name"] = "admin",
                    },
                },
            };
            return job;
        }).ToList();
        var config = new Dictionary<string, object>
        {
            ["global"] = new Dictionary<string, object> { ["scrape_interval"] = "1s", ["evaluation_interval"] = "1s" },
            ["rule_files"] = new List<object> { "rules.yml" },
            ["scrape_configs"] = jobs,
        };
        return new SerializerBuilder().Build().Serialize(config);
    }

    /// <summary>
    /// Yesterday around this time in both regions, as OpenMetrics for promtool to backfill: 90 % of cacheable
    /// requests were hits. The hit-ratio alert compares with it.
    /// </summary>
    private static string Yesterday(DateTimeOffset now)
    {
        var text = new StringBuilder("# HELP edgecache_requests Viewer requests by cache status.\n# TYPE edgecache_requests counter\n");
        var from = now.AddDays(-1).AddMinutes(-20);
        for (var step = 0; step <= 120; step++)
        {
            var at = from.AddSeconds(15 * step).ToUnixTimeSeconds();
            foreach (var region in (string[])[RegionA, RegionB])
            {
                foreach (var (status, perStep) in ((string, int)[])[("hit", 9), ("miss", 1)])
                {
                    text.Append(CultureInfo.InvariantCulture, $"edgecache_requests_total{{cache_status=\"{status}\",instance=\"yesterday\",job=\"edgecache\",node=\"yesterday\",region=\"{region}\"}} {perStep * step} {at}\n");
                }
            }
        }

        return text.Append("# EOF\n").ToString();
    }

    /// <summary>
    /// Waits until each of <paramref name="alerts"/> fires exactly where <see cref="Alerts"/> says, each alert with its
    /// expression's labels and its severity only.
    /// </summary>
    private static async Task AssertFiringAsync(PrometheusServer prometheus, IEnumerable<string> alerts)
    {
        foreach (var alert in alerts)
        {
            var (labels, fires) = Alerts[alert];
            await InvalidationFleet.EventuallyAsync(
                async () =>
                {
                    var firing = (await prometheus.FiringAsync())[alert].ToList();
                    var seen = firing.Select(l => (l["region"], l.GetValueOrDefault("node"))).Order();
                    Assert.All(firing, l => Assert.Equal(labels.Append("alertname").Append("severity").Order(StringComparer.Ordinal), l.Keys.Order(StringComparer.Ordinal)));
                    // The origin-down alert names the origin the nodes use.
                    Assert.All(firing, l => Assert.Equal("origin", l.GetValueOrDefault("origin", "origin")));
                    return seen.SequenceEqual(fires.Order());
                },
                $"{alert} fires for [{string.Join(", ", fires)}] and nowhere else",
                seconds: 45);
        }
    }

    /// <summary>Each alerting rule's expression, from the rendered rule file.</summary>
    private static Dictionary<string, string> AlertExpressions(string rules)
    {
        var doc = new DeserializerBuilder().Build().Deserialize<Dictionary<string, List<Dictionary<string, object>>>>(rules);
        return doc["groups"].SelectMany(group => (List<object>)group["rules"])
            .Cast<Dictionary<object, object>>()
            .ToDictionary(rule => (string)rule["alert"], rule => (string)rule["expr"], StringComparer.Ordinal);
    }

    private static async Task<IReadOnlyList<IReadOnlyDictionary<string, string>>> EventuallyDataAsync(PrometheusServer prometheus, string query, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var series = await prometheus.QueryAsync(query);
            if (series.Count > 0)
            {
                return [.. series.Select(s => s.Labels)];
            }

            Assert.True(DateTime.UtcNow < deadline, $"{what} returned no data: {query}");
            await Task.Delay(250);
        }
    }

    private static async Task<int> EdgeCdnAsync(ControlBucketServer control, string[] args)
    {
        using var output = new StringWriter();
        var console = new ToolConsole { Out = TextWriter.Synchronized(output), Error = TextWriter.Synchronized(output), AckPollInterval = TimeSpan.FromMilliseconds(100) };
        var exit = await EdgeCdnApp.RunAsync(["--endpoint", control.ServiceUrl, "--bucket", ControlBucketServer.BucketName, .. args], console);
        Assert.True(exit == 0, output.ToString());
        return exit;
    }
}
