using System.Collections.Concurrent;
using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Fetching;
using EdgeCache.Origins;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Moq;

namespace EdgeCache.Tests.Unit;

/// <summary>Where a miss's viewers resume when the origin answers.</summary>
public sealed class FetchResumptionTests
{
    [Fact]
    public async Task The_leader_resumes_on_the_thread_that_finished_the_fetch_and_joiners_on_the_thread_pool()
    {
        // The leader continuing on the origin connection's I/O thread saves a thread-pool hop per miss (misses/s +15 %
        // in bench/). Joiners must not: a herd served one after another on that thread would wait on each other.
        await using var unused = await TestOrigin.StartAsync(_ => Task.CompletedTask); // the node's config wants one
        await using var edge = await EdgeNode.StartAsync(unused);
        var answered = new TaskCompletionSource<OriginResponse>(); // continuations inline, like a socket completing
        var origin = new Mock<IOrigin>();
        origin.SetupGet(o => o.Id).Returns("origin");
        origin.SetupGet(o => o.ReadTimeout).Returns(TimeSpan.FromSeconds(5));
        origin.Setup(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>())).Returns(answered.Task);
        var coordinator = edge.Get<FetchCoordinator>();
        var request = TestFetchRequest.For(origin.Object, "/thread.css");

        var leaderFetch = coordinator.GetOrStart("thread", request, out var isLeader);
        Assert.True(isLeader);
        var joinerFetch = coordinator.GetOrStart("thread", request, out var joinerIsLeader);
        Assert.False(joinerIsLeader);

        // Called here, not through Task.Run: each runs to its await before it returns, so both are waiting when the
        // origin answers (no sleep to make that likely). ConfigureAwait(false): the test's own context is not theirs.
        var resumedOn = new ConcurrentDictionary<string, int>();
        async Task ResumeAsync(string who, Task waitedOn)
        {
            await waitedOn.ConfigureAwait(false);
            resumedOn[who] = Environment.CurrentManagedThreadId;
        }

        var leader = ResumeAsync("leader", leaderFetch.Running);
        var joiner = ResumeAsync("joiner", joinerFetch.Outcome);
        Assert.False(leader.IsCompleted || joiner.IsCompleted, "the fetch completed before the origin answered");

        var origins = 0;
        var originThread = new Thread(() =>
        {
            origins = Environment.CurrentManagedThreadId;
            var body = new MemoryStream("body{}"u8.ToArray());
            answered.SetResult(new OriginResponse(200, [new("Cache-Control", new StringValues("max-age=60"))], body.Length, body));
        })
        { Name = "origin I/O" };
        originThread.Start();
        originThread.Join();
        await Task.WhenAll(leader, joiner).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(origins, resumedOn["leader"]);
        Assert.NotEqual(origins, resumedOn["joiner"]);
        Assert.IsType<FetchOutcome.Shared>(await joinerFetch.Outcome);
    }
}
