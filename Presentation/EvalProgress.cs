using System.Diagnostics;
using System.Globalization;

namespace ArchDsl.Presentation;

/// <summary>
/// Progress of an evaluation (<c>archc eval</c>) on standard error, so standard output stays the result alone
/// (<c>--format json</c> pipes cleanly): on a terminal one line rewritten in place (<c>\r</c>) at most every 0.2 s,
/// otherwise a plain line at most every <c>interval</c>; always a last line when the set is done.
/// </summary>
public sealed class EvalProgress(TextWriter err, bool interactive, string set, TimeSpan? interval = null)
{
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly TimeSpan _interval = interval ?? (interactive ? TimeSpan.FromSeconds(0.2) : TimeSpan.FromSeconds(10));
    private TimeSpan? _last;  // when the last line was written; none yet: the first report always prints

    /// <summary>For the console: in place when standard error is a terminal.</summary>
    public static EvalProgress ForConsole(string set) => new(Console.Error, !Console.IsErrorRedirected, set);

    /// <summary>Images <paramref name="done"/> of <paramref name="total"/> evaluated (the shape of <c>EvalOptions.Progress</c>).</summary>
    public void Report(int done, int total)
    {
        var now = _watch.Elapsed;
        bool finished = done >= total;
        if (!finished && _last is { } last && now - last < _interval) return;
        _last = now;
        double seconds = Math.Max(now.TotalSeconds, 1e-9);
        var line = string.Create(CultureInfo.InvariantCulture,
            $"evaluating {set}: {done:N0}/{total:N0} images ({100.0 * done / Math.Max(total, 1):0}%), {done / seconds:#,0} images/s");
        if (interactive) err.Write("\r" + line + (finished ? "\n" : ""));
        else err.WriteLine(line);
        err.Flush();
    }
}
