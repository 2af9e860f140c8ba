using EdgeCache.Configuration.Validation;
using Microsoft.Extensions.Options;

namespace EdgeCache.Configuration;

/// <summary>
/// The rules edgecache.schema.json cannot express (comparisons between fields, references between origins and
/// behaviors, the order of behaviors), checked after the schema, on the options as bound with environment overrides.
/// Everything the schema can say is said there once, for the node and the Pulumi program alike
/// (components/config/edgeRules.ts keeps these same rules, with the same field paths, for the Pulumi side).
/// Every failure names the field at fault.
/// </summary>
public sealed class EdgeCacheOptionsValidator : IValidateOptions<EdgeCacheOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeCacheOptions options)
    {
        var errors = Collect(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static List<string> Collect(EdgeCacheOptions options)
    {
        var errors = new List<string>();
        ListenRules.Check(errors, options.Listen);
        CacheRules.Check(errors, options.Cache);
        AdminTokenRule.Check(errors, options.AdminToken);
        var originIds = OriginRules.Check(errors, options.Origins);
        BehaviorRules.Check(errors, options.Behaviors, originIds);
        return errors;
    }
}
