using NetVips;

namespace ArchDsl.Runtime.Data;

/// <summary>
/// libvips' own log (GLib domain <c>VIPS</c>): its warnings — "read gave 74 warnings", "VipsJpeg: premature end of JPEG
/// image" — are printed to stderr by GLib's default handler, beside ArchDsl's own report of the same file. They are
/// taken here instead and dropped: a file libvips cannot decode fails the decode (<c>fail_on: error</c>) and ArchDsl
/// reports it once under its bad-data policy (<see cref="UnreadableImages"/>); a file it decodes despite a warning is
/// used as PIL would use it. Criticals and errors (a libvips fault, not a bad file) keep GLib's handler.
/// </summary>
internal static class VipsLog
{
    // Kept in a field: the native side holds only a pointer to the delegate.
    private static Log.LogDelegate? _handler;

    /// <summary>Installs the handler (once; later calls do nothing). Call before the first decode.</summary>
    public static void Install()
    {
        if (_handler is not null) return;
        _handler = (_, _, _) => { };
        Log.SetLogHandler("VIPS", Enums.LogLevelFlags.Warning | Enums.LogLevelFlags.Message | Enums.LogLevelFlags.Info | Enums.LogLevelFlags.Debug, _handler);
    }
}
