namespace EdgeCache.Disk;

/// <summary>
/// A large entry's trailer is rewritten in place when a 304 refreshes it (its body is too big to copy); a reader takes
/// the gate of the entry's path while it reads the trailer, so it never sees one half-written. Striped by path.
/// </summary>
internal sealed class TrailerGates : IDisposable
{
    private readonly SemaphoreSlim[] _gates = [.. Enumerable.Range(0, 32).Select(_ => new SemaphoreSlim(1, 1))];

    public SemaphoreSlim For(string path) => _gates[(path.GetHashCode(StringComparison.Ordinal) & int.MaxValue) % _gates.Length];

    public void Dispose()
    {
        foreach (var gate in _gates)
        {
            gate.Dispose();
        }
    }
}
