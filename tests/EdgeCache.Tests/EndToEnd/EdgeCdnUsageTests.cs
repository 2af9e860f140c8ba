using System.Diagnostics;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>edgecdn refuses bad input with one line naming what is wrong and exit 2, before it writes anything.</summary>
[Collection(InvalidationFleetCollection.Name)]
public sealed class EdgeCdnUsageTests(InvalidationFleet fleet) : IDisposable
{
    private readonly string _pulumi = FakePulumi("""{"edgeUrl":"https://cdn.example.com","controlBucketRegion":"us-east-1"}""");

    public static TheoryData<string[], string> BadInvalidations => new()
    {
        { ["invalidate", ""], "PATH 1: is empty" },
        { ["invalidate", "/ok.js", "img/a.png"], "PATH 2: 'img/a.png' must start with '/'" },
        { ["invalidate", "/a.js?v=2"], "has a query string" },
        { ["invalidate", "/img/*"], "--pattern '/img/*'" },
        { ["invalidate"], "nothing to invalidate" },
        { ["invalidate", "--prefix", "/a/", "--all"], "only one of them" },
        { ["invalidate", "/a.js", "--pattern", "/b/*"], "only one of them" },
        { ["invalidate", "--prefix", "a/"], "--prefix: 'a/' must start with '/'" },
        { ["invalidate", "/a.js", "--timeout", "soon"], "--timeout: 'soon' is not a duration" },
        { ["invalidate", "/a.js", "--bogus"], "--bogus" },
    };

    [Theory]
    [MemberData(nameof(BadInvalidations))]
    public async Task Bad_input_exits_2_with_one_line_and_writes_nothing(string[] args, string expected)
    {
        var before = await LogStateAsync();

        var (exit, output, error) = await fleet.EdgeCdnAsync(args);

        Assert.Equal(2, exit);
        Assert.Contains(expected, error);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("", output);
        Assert.Equal(before, await LogStateAsync());
    }

    [Theory]
    [InlineData(new[] { "invalidate", "/a.js" }, "where is the invalidation log?")]
    [InlineData(new[] { "--bucket", "edge-control", "invalidate", "/a.js" }, "--region: required with --bucket")]
    [InlineData(new[] { "--stack", "dev", "--bucket", "edge-control", "invalidate", "/a.js" }, "not both")]
    [InlineData(new[] { "--stack", "dev", "invalidate", "/a.js" }, "--stack dev: no output 'controlBucket' (it has controlBucketRegion, edgeUrl)")]
    [InlineData(new[] { "--bucket", "Not_A_Bucket", "--region", "us-east-1", "nodes" }, "--bucket: 'Not_A_Bucket' is not an S3 bucket name")]
    [InlineData(new[] { "--endpoint", "localhost:9000", "--bucket", "edge-control", "nodes" }, "--endpoint: 'localhost:9000'")]
    [InlineData(new[] { "--bucket", "edge-control", "--region", "us-east-1", "invalidations", "show", "yesterday" }, "ID: 'yesterday' is not an invalidation id")]
    public async Task A_log_location_that_cannot_be_used_exits_2(string[] args, string expected)
    {
        var before = await LogStateAsync();

        var (exit, _, error) = await fleet.EdgeCdnAsync(args, withEndpoint: false, pulumi: _pulumi);

        Assert.Equal(2, exit);
        Assert.Contains(expected, error);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(before, await LogStateAsync());
    }

    [Fact]
    public async Task The_stack_outputs_name_the_control_bucket()
    {
        var pulumi = FakePulumi($$"""{"controlBucket":"{{ControlBucketServer.BucketName}}","controlBucketRegion":"us-east-1"}""");
        try
        {
            // --stack supplies the bucket and region; --endpoint still points the client at the S3-compatible server.
            var (exit, output, error) = await fleet.EdgeCdnAsync(["--stack", "dev", "--endpoint", fleet.ControlBucket.ServiceUrl, "nodes"], withEndpoint: false, pulumi: pulumi);

            Assert.True(exit == 0, error);
            Assert.True(output.Contains("eu-1", StringComparison.Ordinal) && output.Contains("us-2", StringComparison.Ordinal), output);
        }
        finally
        {
            File.Delete(pulumi);
        }
    }

    [Fact]
    public async Task The_installed_command_exits_2_on_bad_input()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "edgecdn.dll"), "--endpoint", fleet.ControlBucket.ServiceUrl, "--bucket", ControlBucketServer.BucketName, "invalidate", "index.html"])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Equal("edgecdn: PATH 1: 'index.html' must start with '/'\n", error);
    }

    public void Dispose() => File.Delete(_pulumi);

    /// <summary>What the log holds that a writer would change: the record keys and the head's ETag.</summary>
    private async Task<string> LogStateAsync()
    {
        var ids = await fleet.Log.ListRecordIdsAsync(null, CancellationToken.None);
        var head = await fleet.Log.GetHeadAsync(null, CancellationToken.None);
        return string.Join(",", ids) + "|" + head.ETag;
    }

    /// <summary>A stand-in for the Pulumi CLI that prints <paramref name="outputs"/> as 'pulumi stack output --json' does.</summary>
    private static string FakePulumi(string outputs)
    {
        var path = Path.Combine(Path.GetTempPath(), $"pulumi-{Guid.NewGuid():N}");
        File.WriteAllText(path, $"#!/bin/sh\n[ \"$1 $2 $3 $4 $5\" = \"stack output --json --stack dev\" ] || {{ echo \"error: no stack named '$5' found\" >&2; exit 255; }}\ncat <<'JSON'\n{outputs}\nJSON\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }
}
