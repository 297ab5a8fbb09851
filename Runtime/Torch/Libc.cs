using System.Runtime.InteropServices;

namespace ArchDsl.Torch;

/// <summary>
/// The C library functions this assembly (the binding) calls, declared once: the native environment (<c>getenv</c>, <c>setenv</c>,
/// <c>unsetenv</c>: what libgomp, OpenBLAS and glog read when they load; .NET's own environment block is a copy they
/// never see) and the dynamic linker (<c>dlopen</c>, <c>dlmopen</c>, <c>dlsym</c>, <c>dlclose</c>: exported by libc.so.6
/// itself only since glibc 2.34; before, they were libdl.so.2's alone, and on such a glibc these entry points are not
/// found in libc). The runtime above the binding declares its own few (<c>mallopt</c>, <c>kill</c>). Linux only: callers check
/// <see cref="OperatingSystem.IsLinux"/> first. "libc" is the runtime's name for the platform's C library
/// (libc.so.6 on glibc). Flag values are glibc's <c>&lt;dlfcn.h&gt;</c>.
/// </summary>
internal static class Libc
{
    public const int RTLD_LAZY = 0x1, RTLD_NOW = 0x2, RTLD_NOLOAD = 0x4, RTLD_LOCAL = 0;

    /// <summary><c>dlmopen</c>'s "a new linker namespace".</summary>
    public const long LM_ID_NEWLM = -1;

    [DllImport("libc", EntryPoint = "getenv")] public static extern IntPtr getenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);
    [DllImport("libc", EntryPoint = "setenv")] public static extern int setenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
    [DllImport("libc", EntryPoint = "unsetenv")] public static extern int unsetenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);
    [DllImport("libc", EntryPoint = "dlopen")] public static extern IntPtr dlopen([MarshalAs(UnmanagedType.LPUTF8Str)] string file, int mode);
    [DllImport("libc", EntryPoint = "dlmopen")] public static extern IntPtr dlmopen(long lmid, [MarshalAs(UnmanagedType.LPUTF8Str)] string file, int mode);
    [DllImport("libc", EntryPoint = "dlsym")] public static extern IntPtr dlsym(IntPtr handle, [MarshalAs(UnmanagedType.LPUTF8Str)] string name);
    [DllImport("libc", EntryPoint = "dlclose")] public static extern int dlclose(IntPtr handle);

    /// <summary>A variable of the native environment, or null when it is not set.</summary>
    public static string? GetEnv(string name) => Marshal.PtrToStringUTF8(getenv(name));
}
