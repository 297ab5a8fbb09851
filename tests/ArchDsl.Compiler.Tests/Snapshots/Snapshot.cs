using System.Runtime.CompilerServices;
using ArchDsl.Compiler.Analysis;
using Xunit.Sdk;

namespace ArchDsl.Compiler.Tests.Snapshots;

/// <summary>
/// Snapshot testing in Verify's conventions (the Verify package itself is not served by the package registry here).
/// <c>Snapshot.Verify(text)</c> compares <paramref name="actual"/> with
/// <c>&lt;Class&gt;.&lt;Method&gt;.verified.txt</c> (or <c>&lt;Class&gt;.&lt;Method&gt;_&lt;name&gt;.verified.txt</c> with a
/// name, for parameterised tests) beside the calling test's source file; <c>&lt;Class&gt;</c> is that
/// file's name, so keep one test class per file, named as the file. On a mismatch or a missing
/// verified file it writes <c>….received.txt</c> (git-ignored) and fails with a unified diff; with
/// <c>ARCHDSL_ACCEPT=1</c> (or <c>VERIFY_ACCEPT=1</c>) it writes the verified file instead and deletes the
/// received one. Line ends are compared as '\n' (a checkout with CRLF still matches).
/// </summary>
public static class Snapshot
{
    public static void Verify(string actual, string? name = null, [CallerFilePath] string file = "", [CallerMemberName] string method = "")
    {
        if (string.IsNullOrEmpty(file) || !Path.IsPathRooted(file))
            throw new InvalidOperationException($"Snapshot.Verify needs the caller's source path; got '{file}'");
        var directory = Path.GetDirectoryName(file)!;
        var baseName = BaseName(Path.GetFileNameWithoutExtension(file), method, name);
        var result = Check(actual, directory, baseName, AcceptRequested());
        if (!result.Passed) throw new XunitException(result.Message);
    }

    /// <summary><c>ARCHDSL_ACCEPT</c> or <c>VERIFY_ACCEPT</c> set to 1 or true.</summary>
    public static bool AcceptRequested() => IsOn("ARCHDSL_ACCEPT") || IsOn("VERIFY_ACCEPT");

    private static bool IsOn(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { } v && (v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase));

    /// <summary><c>Class.Method</c> or <c>Class.Method_name</c>, the name made file-safe (<c>imagenet/vit.arch</c> → <c>imagenet_vit.arch</c>).</summary>
    public static string BaseName(string className, string method, string? name) =>
        name is null ? $"{className}.{method}" : $"{className}.{method}_{Sanitize(name)}";

    public static string Sanitize(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' || c == '_' ? c : '_').ToArray();
        return new string(chars);
    }

    public sealed record Result(bool Passed, string Message, string VerifiedPath, string ReceivedPath);

    /// <summary>The comparison itself, on any directory: what <see cref="Verify"/> does, without throwing.</summary>
    public static Result Check(string actual, string directory, string baseName, bool accept)
    {
        var verified = Path.Combine(directory, baseName + ".verified.txt");
        var received = Path.Combine(directory, baseName + ".received.txt");
        actual = Normalize(actual);

        if (accept)
        {
            File.WriteAllText(verified, actual);
            File.Delete(received);
            return new Result(true, $"accepted {verified}", verified, received);
        }

        if (!File.Exists(verified))
        {
            File.WriteAllText(received, actual);
            return new Result(false,
                $"No verified snapshot {verified}.\nWrote the received text to {received}.\n" +
                "Check it, then rename it to .verified.txt or run the tests with ARCHDSL_ACCEPT=1.\n\n" +
                TextDiff.Unified("", actual, "/dev/null", Path.GetFileName(received)),
                verified, received);
        }

        var expected = Normalize(File.ReadAllText(verified));
        if (expected == actual)
        {
            File.Delete(received);
            return new Result(true, "matches " + verified, verified, received);
        }

        File.WriteAllText(received, actual);
        return new Result(false,
            $"Snapshot mismatch: {verified}\nReceived text written to {received}; accept with ARCHDSL_ACCEPT=1 if the change is intended.\n\n" +
            TextDiff.Unified(expected, actual, Path.GetFileName(verified), Path.GetFileName(received)),
            verified, received);
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n");
}
