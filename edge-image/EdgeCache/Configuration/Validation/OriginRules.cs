namespace EdgeCache.Configuration.Validation;

/// <summary>origins: ids unique, and a group's members configured, not groups themselves, and two different ones.</summary>
internal static class OriginRules
{
    /// <summary>Checks the origins and returns their ids, for the behaviors' references.</summary>
    public static HashSet<string> Check(List<string> errors, List<OriginOptions> origins)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < origins.Count; i++)
        {
            if (!ids.Add(origins[i].Id))
            {
                errors.Add($"origins[{i}].id: {ConfigValueText.Quote(origins[i].Id)} is used by another origin; ids must be unique");
            }
        }

        for (var i = 0; i < origins.Count; i++)
        {
            if (origins[i].Type == "group")
            {
                CheckGroup(errors, $"origins[{i}]", origins[i], origins);
            }
        }

        return ids;
    }

    private static void CheckGroup(List<string> errors, string at, OriginOptions group, List<OriginOptions> origins)
    {
        foreach (var (field, member) in new[] { ("primary", group.Primary), ("secondary", group.Secondary) })
        {
            var target = origins.FirstOrDefault(o => o.Id == member);
            if (member is null)
            {
                // Missing: the schema's to report.
                continue;
            }

            if (target is null)
            {
                var known = string.Join(", ", origins.Where(o => o.Type != "group").Select(o => o.Id).Order(StringComparer.Ordinal));
                errors.Add($"{at}.{field}: {ConfigValueText.Quote(member)} is not a configured origin (known: {known})");
            }
            else if (target.Type == "group")
            {
                errors.Add($"{at}.{field}: {ConfigValueText.Quote(member)} is a group; a group's members must be http or s3 origins");
            }
        }

        if (group.Primary is not null && group.Primary == group.Secondary)
        {
            errors.Add($"{at}.secondary: must differ from primary ({ConfigValueText.Quote(group.Primary)})");
        }
    }
}
