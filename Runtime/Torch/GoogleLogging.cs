using System.Runtime.InteropServices;

namespace ArchDsl.Torch;

/// <summary>
/// Initialises Google logging (glog), which Debian's libtorch logs through (c10's <c>LOG</c>, c10d's socket and store
/// messages, <c>TORCH_WARN</c>'s default handler). A process that never calls <c>google::InitGoogleLogging</c> gets
/// <c>WARNING: Logging before InitGoogleLogging() is written to STDERR</c> above its first message — in a data-parallel
/// run, once per rank. <see cref="Apply"/> calls it, after the shim has loaded glog, with <c>FLAGS_logtostderr</c> set
/// (what the uninitialised glog did: every message on stderr, no log files in /tmp), so warnings and errors still
/// reach the user in full; only that line goes. A user's <c>GLOG_logtostderr</c>, <c>GLOG_logtostdout</c> or
/// <c>GLOG_log_dir</c> (glog reads its flags from <c>GLOG_*</c> variables) is left to decide where they go. Nothing
/// happens where glog is not loaded (a libtorch built without it logs to stderr without that line) or is already
/// initialised. glog's C++ entry points are found by their Itanium-mangled names (glog 0.4–0.6).
/// </summary>
internal static unsafe class GoogleLogging
{
    private const string InitName = "_ZN6google17InitGoogleLoggingEPKc";             // google::InitGoogleLogging(const char*)
    private const string IsInitName = "_ZN6google26IsGoogleLoggingInitializedEv";   // google::IsGoogleLoggingInitialized()
    private const string LogToStderrName = "_ZN3fLB17FLAGS_logtostderrE";             // fLB::FLAGS_logtostderr (bool)

    /// <summary>The glog variables that say where messages go; when the user set one, glog's flags are left as it read them.</summary>
    public static readonly IReadOnlyList<string> UserVariables = ["GLOG_logtostderr", "GLOG_logtostdout", "GLOG_log_dir"];

    /// <summary>True once glog is initialised in this process (false where glog is not loaded).</summary>
    public static bool Initialized => Find(IsInitName) is var p && p != IntPtr.Zero && ((delegate* unmanaged<byte>)p)() != 0;

    internal static void Apply()
    {
        if (!OperatingSystem.IsLinux()) return;
        IntPtr init = Find(InitName), logToStderr = Find(LogToStderrName);
        if (init == IntPtr.Zero || logToStderr == IntPtr.Zero || Initialized) return;
        if (!UserVariables.Any(v => Environment.GetEnvironmentVariable(v) is not null)) *(byte*)logToStderr = 1;
        // glog keeps the pointer as the program's name for the rest of the process: never freed
        ((delegate* unmanaged<IntPtr, void>)init)(Marshal.StringToHGlobalAnsi("archc"));
    }

    /// <summary>An export of the glog the process has already loaded (libglog.so.1, glog 0.6; libglog.so.0 before), or zero.
    /// dlopen with RTLD_NOLOAD (as the shim's linear.cpp finds oneDNN) only answers for a library already loaded: none is
    /// loaded here, and whichever of the two libtorch linked is the one found.</summary>
    private static IntPtr Find(string symbol)
    {
        foreach (var name in new[] { "libglog.so.1", "libglog.so.0" })
            if (Libc.dlopen(name, Libc.RTLD_LAZY | Libc.RTLD_NOLOAD) is var glog && glog != IntPtr.Zero && Libc.dlsym(glog, symbol) is var p && p != IntPtr.Zero)
                return p;
        return IntPtr.Zero;
    }
}
