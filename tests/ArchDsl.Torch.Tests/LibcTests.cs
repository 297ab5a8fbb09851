using System.Reflection;
using System.Runtime.InteropServices;

namespace ArchDsl.Torch.Tests;

public class LibcTests
{
    /// <summary>
    /// Every call into the C library from the binding (this assembly, ArchDsl.Torch) goes through <see cref="Libc"/>: no other
    /// type of it declares its own P/Invoke of a libc function (a twin of dlopen or getenv in GoogleLogging, ThreadPools or
    /// BlasKernel was the fault). The rule is the binding's; the runtime above it (ArchDsl.Runtime) cannot see this internal
    /// class and declares its own few functions (mallopt, kill), none of these.
    /// </summary>
    [Fact]
    public void The_binding_declares_each_libc_function_once_in_Libc()
    {
        var libcImports = typeof(Libc).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Import: m.GetCustomAttribute<DllImportAttribute>()))
            .Where(x => x.Import is { } i && (i.Value == "libc" || i.Value.StartsWith("libc.so", StringComparison.Ordinal) || i.Value.StartsWith("libdl", StringComparison.Ordinal)))
            .ToList();
        var elsewhere = libcImports.Where(x => x.Method.DeclaringType != typeof(Libc))
            .Select(x => $"{x.Method.DeclaringType!.FullName}.{x.Method.Name}").ToList();
        Assert.Empty(elsewhere);
        var entryPoints = libcImports.Select(x => x.Import!.EntryPoint ?? x.Method.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.Equal(["dlclose", "dlmopen", "dlopen", "dlsym", "getenv", "setenv", "unsetenv"], entryPoints);
    }

    /// <summary>setenv, getenv and unsetenv act on the native environment, which .NET's Environment does not see.</summary>
    [Fact]
    public void GetEnv_reads_what_setenv_wrote_and_null_after_unsetenv()
    {
        const string name = "ARCHDSL_LIBC_TEST";
        Assert.Equal(0, Libc.setenv(name, "a b=c", 1));
        Assert.Equal("a b=c", Libc.GetEnv(name));
        Assert.Equal(0, Libc.unsetenv(name));
        Assert.Null(Libc.GetEnv(name));
    }

    /// <summary>dlopen with RTLD_NOLOAD finds only a library already loaded; dlsym finds an export of it.</summary>
    [Fact]
    public void Dlopen_noload_finds_libc_itself_and_dlsym_its_getenv()
    {
        var h = Libc.dlopen("libc.so.6", Libc.RTLD_LAZY | Libc.RTLD_NOLOAD);
        Assert.NotEqual(IntPtr.Zero, h);
        try { Assert.NotEqual(IntPtr.Zero, Libc.dlsym(h, "getenv")); }
        finally { Libc.dlclose(h); }
        Assert.Equal(IntPtr.Zero, Libc.dlopen("libarchdsl-no-such-library.so", Libc.RTLD_LAZY | Libc.RTLD_NOLOAD));
    }
}
