namespace EdgeCache.Tests.Infrastructure;

internal static class RepoRoot
{
    /// <summary>The directory holding Infra.sln, found by walking up from the test binaries.</summary>
    public static string Path { get; } = Find();

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Infra.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Infra.sln not found above " + AppContext.BaseDirectory);
    }
}
