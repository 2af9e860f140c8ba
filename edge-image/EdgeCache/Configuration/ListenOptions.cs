namespace EdgeCache.Configuration;

public sealed class ListenOptions
{
    public string Address { get; set; } = "0.0.0.0";

    public int ViewerPort { get; set; } = 8080;

    public int AdminPort { get; set; } = 9090;

    /// <summary>
    /// Run the Linux fast path (FastPath/README.md), each part as its own option says; false leaves Kestrel's own
    /// transport, output and memory pool. <see cref="FastPathSwitch.Variable"/> overrides it.
    /// </summary>
    public bool FastPath { get; set; } = true;

    /// <summary>
    /// Handle work on the runtime's socket I/O threads instead of queueing each step to the thread pool (Kestrel's
    /// UnsafePreferInlineScheduling plus inline socket completions): the viewer port, origin connections and the admin
    /// port. Measured in bench/: a quarter more misses/s and about a fifth less CPU per small hit, at the price of the
    /// small-object tail when the CPUs are contended (each of those threads owns its connections: 1 KiB p99 ~4 ms
    /// inline, ~1 ms off). Safe because nothing on the request path blocks; turn it off when adding code that might.
    /// </summary>
    public bool InlineIo { get; set; } = true;

    /// <summary>
    /// Send viewer responses through <see cref="FastPath.ViewerSocketWriter"/>, which lets a stored body go to the kernel
    /// from the cache's memory instead of being copied into Kestrel's output pipe first. Off: Kestrel's own output.
    /// </summary>
    public bool DirectBodySend { get; set; } = true;

    /// <summary>
    /// Write a body of 85,000 bytes or more with a Content-Length into an in-memory file as it arrives from the origin, and
    /// send its hits with <c>sendfile</c>: the kernel sends the cached pages instead of copying them into the socket
    /// (nginx's <c>sendfile on</c>). Linux, with <see cref="DirectBodySend"/>. Off: bodies are held in arrays and the
    /// kernel copies them, as it does smaller ones.
    /// </summary>
    public bool SendFile { get; set; } = true;

    public const int MaxNotSentLowWaterBytes = 16 * 1024 * 1024;

    /// <summary>
    /// <c>TCP_NOTSENT_LOWAT</c> on viewer sockets (Linux, with <see cref="DirectBodySend"/>): how many bytes a response may
    /// have queued in the kernel beyond what is already on the wire. A large body is then handed over a window at a time
    /// as the viewer reads, instead of the whole body waiting in the socket, so a slow viewer pins less kernel memory and
    /// the node, not the ACK that opens the window, pushes the next bytes. Measured in bench/ with BBR: 1 MiB hits/s
    /// +12–20 % with 16–256 KiB (64 KiB chosen), 128 KiB and 1 KiB unchanged. With cubic, 0 cost less CPU per 1 MiB hit;
    /// at an Ethernet MTU (bench's BENCH_MTU=1500), 0 cost about a third less CPU per 1 MiB hit and halved its p99, for
    /// 5–10 % fewer hits/s, and 256 KiB cost about a third less than 64 KiB with a lower p99 and as many hits/s, but 3–5 %
    /// fewer hits/s on the benchmark's own loopback (docs/decisions/0017-send-low-water-mark.md).
    /// 0: the kernel's default (the <c>net.ipv4.tcp_notsent_lowat</c> sysctl, unlimited unless set).
    /// </summary>
    public int NotSentLowWaterBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Expect a PROXY protocol v2 header (an AWS NLB's target group with proxy protocol v2 on) at the start of every
    /// connection to the viewer port (and <see cref="HttpsRedirectPort"/>), and take the viewer's address from it
    /// (ProxyProtocol.ProxyProtocolMiddleware). A connection without a valid header is closed.
    /// </summary>
    public bool ProxyProtocol { get; set; }

    /// <summary>A plain-HTTP port that answers every request with 301 to https (Hosting.HttpsRedirectEndpoint); null: off.</summary>
    public int? HttpsRedirectPort { get; set; }
}
