using System.Diagnostics;
using EdgeCache.Fetching;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// Collapsing of misses for a URL with Vary: one origin fetch per variant, and misses for different variants of one URL
/// do not queue behind each other.
/// </summary>
public sealed class VariantCollapsingTests
{
    [Fact]
    public async Task Misses_for_different_variants_of_a_url_whose_Vary_is_known_fetch_in_parallel_and_are_all_stored()
    {
        await using var origin = await VariantTests.VaryingOrigin(TimeSpan.FromSeconds(1));
        await using var edge = await VariantTests.StartAsync(origin);
        Assert.Equal(("Miss", "lang=en"), await VariantTests.GetAsync(edge, "en"));

        string[] languages = ["de", "fr", "es", "it", "nl", "pt", "pl", "sv"];
        var clock = Stopwatch.StartNew();
        var results = await Task.WhenAll(languages.Select(lang => VariantTests.GetAsync(edge, lang)));
        var took = clock.Elapsed;

        Assert.Equal(languages.Select(lang => ("Miss", "lang=" + lang)), results);
        Assert.True(took < TimeSpan.FromSeconds(2.5), $"8 misses for different variants against a 1 s origin took {took.TotalSeconds:0.0} s");
        await CachingTests.Eventually(() => edge.Get<FetchCoordinator>().InFlightCount == 0);
        foreach (var lang in languages)
        {
            Assert.Equal(("Hit", "lang=" + lang), await VariantTests.GetAsync(edge, lang));
        }

        Assert.Equal(9, origin.Count("/v"));
    }

    [Fact]
    public async Task Misses_for_the_same_variant_of_a_url_whose_Vary_is_known_make_one_origin_fetch()
    {
        await using var origin = await VariantTests.VaryingOrigin(TimeSpan.FromSeconds(1));
        await using var edge = await VariantTests.StartAsync(origin);
        Assert.Equal(("Miss", "lang=en"), await VariantTests.GetAsync(edge, "en"));

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => VariantTests.GetAsync(edge, "de")));

        Assert.All(results, r => Assert.Equal("lang=de", r.Body));
        Assert.Equal(1, origin.Requests.Count(r => r.Path == "/v" && r.Headers.GetValueOrDefault("Accept-Language") == "de"));
    }

    [Fact]
    public async Task First_misses_for_different_variants_wait_for_the_url_s_Vary_and_are_then_all_stored()
    {
        // Nothing is known of the URL yet: they wait on one fetch to learn its Vary, then fetch their own variants.
        await using var origin = await VariantTests.VaryingOrigin(TimeSpan.FromSeconds(1));
        await using var edge = await VariantTests.StartAsync(origin);

        string[] languages = ["en", "de", "fr", "es", "it", "nl", "pt", "pl"];
        var results = await Task.WhenAll(languages.Select(async lang =>
        {
            using var request = VariantTests.Request(lang);
            using var response = await edge.Viewer.SendAsync(request);
            return (Lang: lang, Cache: response.XCache(), Status: response.Header("Cache-Status"), Body: await response.Content.ReadAsStringAsync());
        }));

        Assert.All(results, r =>
        {
            Assert.Equal("lang=" + r.Lang, r.Body);
            Assert.Equal("Miss", r.Cache);
            Assert.Contains("stored", r.Status);
        });
        await CachingTests.Eventually(() => edge.Get<FetchCoordinator>().InFlightCount == 0);
        foreach (var lang in languages)
        {
            Assert.Equal(("Hit", "lang=" + lang), await VariantTests.GetAsync(edge, lang));
        }

        Assert.Equal(8, origin.Count("/v"));
    }
}
