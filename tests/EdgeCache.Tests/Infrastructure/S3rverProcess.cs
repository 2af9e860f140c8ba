using System.Diagnostics;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// An s3rver (npm) process on loopback, started for the test and killed after it: a real S3-compatible server for the
/// S3 origin path. The README's test command installs it (npm ci in tests/s3rver); S3RVER_BIN overrides the location.
/// </summary>
public sealed class S3rverProcess : IAsyncDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private readonly Process _process;
    private readonly string _directory;

    private S3rverProcess(Process process, string directory, int port, string bucket)
    {
        _process = process;
        _directory = directory;
        Port = port;
        Bucket = bucket;
    }

    public int Port { get; }

    public string Bucket { get; }

    public string ServiceUrl => $"http://127.0.0.1:{Port}";

    public static async Task<S3rverProcess> StartAsync(string bucket)
    {
        var bin = Environment.GetEnvironmentVariable("S3RVER_BIN") is { Length: > 0 } fromEnv
            ? fromEnv
            : System.IO.Path.Combine(RepoRoot.Path, "tests", "s3rver", "node_modules", ".bin", "s3rver");
        if (!File.Exists(bin))
        {
            throw new InvalidOperationException($"s3rver not found at {bin}: run 'npm ci --prefix tests/s3rver' (the README's test command does).");
        }

        var directory = Directory.CreateTempSubdirectory("s3rver-").FullName;
        var port = FreePort.Next();
        var start = new ProcessStartInfo(bin)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["-d", directory, "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--configure-bucket", bucket, "--silent"])
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start s3rver");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }

        return new S3rverProcess(process, directory, port, bucket);
    }

    /// <summary>A client for seeding objects, with the settings s3rver needs (see shared/ENVIRONMENT.md).</summary>
    public AmazonS3Client CreateClient() => new(
        new BasicAWSCredentials(AccessKey, SecretKey),
        new AmazonS3Config
        {
            ServiceURL = ServiceUrl,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
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
