using System.Diagnostics;
using System.Net.Sockets;
using Amazon.S3;
using EdgeCache.InvalidationLog;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// s3rver as the fleet's control bucket, on a fixed port and data directory so a test can stop it (the control bucket
/// unreachable) and start it again with the log intact. The same binary as <see cref="S3rverProcess"/>.
/// </summary>
public sealed class ControlBucketServer : IAsyncDisposable
{
    public const string BucketName = "edge-control";

    private readonly string _directory = Directory.CreateTempSubdirectory("control-bucket-").FullName;
    private Process? _process;

    public int Port { get; } = FreePort.Next();

    public string ServiceUrl => $"http://127.0.0.1:{Port}";

    public ControlBucketEndpoint Endpoint => new(BucketName, "us-east-1", ServiceUrl);

    public static async Task<ControlBucketServer> StartAsync()
    {
        var server = new ControlBucketServer();
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>A client as an operator's edgecdn makes it (path-style, the SDK's default credential chain).</summary>
    public ControlBucket CreateBucket(out AmazonS3Client client)
    {
        client = Endpoint.CreateClient();
        return new ControlBucket(client, BucketName);
    }

    public async Task StartAgainAsync()
    {
        var bin = Environment.GetEnvironmentVariable("S3RVER_BIN") is { Length: > 0 } fromEnv
            ? fromEnv
            : Path.Combine(RepoRoot.Path, "tests", "s3rver", "node_modules", ".bin", "s3rver");
        if (!File.Exists(bin))
        {
            throw new InvalidOperationException($"s3rver not found at {bin}: run 'npm ci --prefix tests/s3rver' (the README's test command does).");
        }

        var start = new ProcessStartInfo(bin) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["-d", _directory, "-a", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--configure-bucket", BucketName, "--silent"])
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start s3rver");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
    }
}
