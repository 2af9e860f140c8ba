using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// A logger provider that renders each entry with the node's own JSON console formatter (the one that writes stdout)
/// and keeps the lines, so a test reads exactly what an operator's log pipeline would, without capturing the console.
/// </summary>
public sealed class CapturedJsonLog : ILoggerProvider
{
    private readonly ConsoleFormatter _formatter;
    private readonly string _category;

    private CapturedJsonLog(ConsoleFormatter formatter, string category)
    {
        _formatter = formatter;
        _category = category;
    }

    public ConcurrentQueue<string> Lines { get; } = new();

    /// <summary>Captures <paramref name="category"/> (only) at Information and above; <paramref name="onCreated"/> gets the instance.</summary>
    public static void AddTo(ILoggingBuilder logging, string category, Action<CapturedJsonLog> onCreated)
    {
        logging.AddFilter<CapturedJsonLog>(category, LogLevel.Information);
        logging.Services.AddSingleton<ILoggerProvider>(sp =>
        {
            var capture = new CapturedJsonLog(sp.GetServices<ConsoleFormatter>().Single(f => f.Name == ConsoleFormatterNames.Json), category);
            onCreated(capture);
            return capture;
        });
    }

    public ILogger CreateLogger(string categoryName) => categoryName == _category ? new Logger(this, categoryName) : NullLogger.Instance;

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedJsonLog owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            using var writer = new StringWriter();
            owner._formatter.Write(new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter), null, writer);
            owner.Lines.Enqueue(writer.ToString().TrimEnd());
        }
    }
}
