using System.Reflection;
using System.Reflection.Emit;
using System.Text.RegularExpressions;
using EdgeCache.Hosting;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.Unit;

/// <summary>
/// The server's folders are layers: each namespace may use the ones below it and never one above, so the code reads
/// bottom-up (docs/architecture.md) and a change low down cannot depend on what is built on it.
/// </summary>
public sealed partial class LayeringTests
{
    /// <summary>Bottom first. A namespace may reference itself and any namespace before it in this list.</summary>
    private static readonly string[] Layers =
    [
        "Observability",
        "Syntax",
        "Configuration",
        "Memory",
        "FastPath",
        "Behaviors",
        "Purging",
        "Origins",
        "Caching",
        "Disk",
        "Fetching",
        "Proxy",
        "Admin",
        "Invalidation",
        "ProxyProtocol",
        "Hosting",
    ];

    private static readonly Assembly Server = typeof(EdgeCacheHost).Assembly;

    [Fact]
    public void Every_server_namespace_has_a_place_in_the_layers()
    {
        var unplaced = Server.GetTypes()
            .Select(t => LayerOf(t))
            .Where(layer => layer is not null && !Layers.Contains(layer))
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.True(unplaced.Count == 0, "namespaces missing from Layers: " + string.Join(", ", unplaced));
    }

    [Fact]
    public void No_type_uses_a_type_from_a_layer_above_its_own()
    {
        var upward = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in Server.GetTypes())
        {
            if (LayerOf(type) is not { } from)
            {
                continue;
            }

            foreach (var used in ReferencedTypes(type))
            {
                if (LayerOf(used) is { } to && Rank(to) > Rank(from))
                {
                    upward.Add($"{from} -> {to}: {Outermost(type).FullName} uses {Outermost(used).FullName}");
                }
            }
        }

        Assert.True(upward.Count == 0, "upward references:\n" + string.Join("\n", upward));
    }

    [Fact]
    public void No_source_file_imports_a_namespace_from_a_layer_above_its_own()
    {
        var root = Path.Combine(RepoRoot.Path, "edge-image", "EdgeCache");
        var upward = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file);
            if (relative.StartsWith("bin", StringComparison.Ordinal) || relative.StartsWith("obj", StringComparison.Ordinal))
            {
                continue;
            }

            var text = File.ReadAllText(file);
            if (FileNamespace().Match(text) is not { Success: true } declared || !Layers.Contains(declared.Groups[1].Value))
            {
                continue;
            }

            var from = declared.Groups[1].Value;
            foreach (Match import in ServerImport().Matches(text))
            {
                var to = import.Groups[1].Value;
                if (Layers.Contains(to) && Rank(to) > Rank(from))
                {
                    upward.Add($"{relative}: namespace {from} imports {to}");
                }
            }
        }

        Assert.True(upward.Count == 0, "upward references:\n" + string.Join("\n", upward));
    }

    private static int Rank(string layer) => Array.IndexOf(Layers, layer);

    /// <summary>"Caching" for EdgeCache.Caching.X; null for types outside the server's own namespaces (Program, the runtime's).</summary>
    private static string? LayerOf(Type type)
    {
        if (type.Assembly != Server || type.Namespace is not { } ns || !ns.StartsWith("EdgeCache.", StringComparison.Ordinal))
        {
            return null;
        }

        var rest = ns["EdgeCache.".Length..];
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? rest : rest[..dot];
    }

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is { } outer)
        {
            type = outer;
        }

        return type;
    }

    /// <summary>
    /// Every type <paramref name="type"/> names: in its signatures (base, interfaces, fields, properties, methods) and in
    /// its method bodies (the IL's type, method and field operands). Compiler-made types (state machines, closures) are
    /// nested in the type they were written in, so they count as its own.
    /// </summary>
    private static IEnumerable<Type> ReferencedTypes(Type type)
    {
        const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var found = new HashSet<Type>();

        void Add(Type? t)
        {
            if (t is null || !found.Add(t))
            {
                return;
            }

            if (t.HasElementType)
            {
                Add(t.GetElementType());
            }

            if (t.IsGenericType)
            {
                foreach (var argument in t.GetGenericArguments())
                {
                    Add(argument);
                }
            }
        }

        Add(type.BaseType);
        foreach (var i in type.GetInterfaces())
        {
            Add(i);
        }

        foreach (var field in type.GetFields(All))
        {
            Add(field.FieldType);
        }

        foreach (var property in type.GetProperties(All))
        {
            Add(property.PropertyType);
        }

        foreach (var method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (method is MethodInfo info)
            {
                Add(info.ReturnType);
            }

            foreach (var parameter in method.GetParameters())
            {
                Add(parameter.ParameterType);
            }

            foreach (var operand in IlOperands(method))
            {
                Add(operand);
            }
        }

        return found;
    }

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>The types named by a method body's type, method and field operands (the declaring type for members).</summary>
    private static IEnumerable<Type> IlOperands(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            yield break;
        }

        var module = method.Module;
        var typeArguments = method.DeclaringType?.IsGenericType == true ? method.DeclaringType.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var at = 0; at < il.Length;)
        {
            var value = il[at] == 0xFE ? (short)(0xFE00 | il[at + 1]) : il[at];
            at += il[at] == 0xFE ? 2 : 1;
            var opCode = OpCodesByValue[value];
            switch (opCode.OperandType)
            {
                case OperandType.InlineType:
                case OperandType.InlineTok:
                case OperandType.InlineMethod:
                case OperandType.InlineField:
                    var token = BitConverter.ToInt32(il, at);
                    at += 4;
                    MemberInfo? member;
                    try
                    {
                        member = module.ResolveMember(token, typeArguments, methodArguments);
                    }
                    catch (ArgumentException)
                    {
                        continue;
                    }

                    switch (member)
                    {
                        case Type t:
                            yield return t;
                            break;
                        case MethodBase m:
                            if (m.DeclaringType is { } declaring)
                            {
                                yield return declaring;
                            }

                            if (m is MethodInfo { IsGenericMethod: true } generic)
                            {
                                foreach (var argument in generic.GetGenericArguments())
                                {
                                    yield return argument;
                                }
                            }

                            break;
                        case FieldInfo f:
                            if (f.DeclaringType is { } owner)
                            {
                                yield return owner;
                            }

                            yield return f.FieldType;
                            break;
                    }

                    break;
                case OperandType.InlineSwitch:
                    var cases = BitConverter.ToInt32(il, at);
                    at += 4 + (4 * cases);
                    break;
                case OperandType.InlineI8:
                case OperandType.InlineR:
                    at += 8;
                    break;
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar:
                    at += 1;
                    break;
                case OperandType.InlineVar:
                    at += 2;
                    break;
                default:
                    at += 4;
                    break;
            }
        }
    }

    [GeneratedRegex(@"^namespace EdgeCache\.(\w+)", RegexOptions.Multiline)]
    private static partial Regex FileNamespace();

    [GeneratedRegex(@"^using EdgeCache\.(\w+)", RegexOptions.Multiline)]
    private static partial Regex ServerImport();
}
