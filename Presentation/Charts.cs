using System.Globalization;
using System.Xml.Linq;

namespace ArchDsl.Presentation;

/// <summary>A labelled point of a scatter chart, with an optional ± error bar on y.</summary>
public sealed record ScatterPoint(string Label, double X, double Y, double? YError = null);

/// <summary>A labelled line of a line chart: (x, y) in x order.</summary>
public sealed record LineSeries(string Label, IReadOnlyList<(double X, double Y)> Points);

/// <summary>
/// Small SVG charts made with System.Xml.Linq (so the output is well-formed XML by construction):
/// a labelled scatter with error bars, and a line chart with a legend. Structure a test (or a script)
/// can rely on: the plot area is <c>&lt;g class="plot"&gt;</c>; each scatter point is a
/// <c>&lt;circle class="point" data-label=… data-x=… data-y=…&gt;</c> with a <c>&lt;text class="point-label"&gt;</c>
/// and, with an error, a <c>&lt;line class="error-bar"&gt;</c>; each line is a
/// <c>&lt;polyline class="series" data-label=…&gt;</c> (a single-point series is a <c>&lt;circle class="series-point"&gt;</c>
/// as well); axes are <c>&lt;line class="axis"&gt;</c>, tick labels <c>&lt;text class="tick x|y"&gt;</c>, axis titles
/// <c>&lt;text class="axis-title x|y"&gt;</c>, the title <c>&lt;text class="title"&gt;</c>, legend entries
/// <c>&lt;text class="legend"&gt;</c>. Numbers are culture-invariant.
/// </summary>
public static class Charts
{
    static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    public static readonly string[] Palette =
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    const double Width = 760, Height = 460, Left = 80, Top = 48, Bottom = 64;

    public static string Scatter(string title, string xTitle, string yTitle, IReadOnlyList<ScatterPoint> points, Func<double, string>? xFormat = null)
    {
        const double right = 40;
        var plotW = Width - Left - right;
        var plotH = Height - Top - Bottom;
        var (x0, x1, xTicks) = Axis(points.Select(p => p.X));
        var (y0, y1, yTicks) = Axis(points.SelectMany(p => p.YError is { } e ? new[] { p.Y - e, p.Y + e } : [p.Y]));
        double Px(double x) => Left + (x - x0) / (x1 - x0) * plotW;
        double Py(double y) => Top + plotH - (y - y0) / (y1 - y0) * plotH;

        var root = Frame(title, xTitle, yTitle, plotW, plotH, xTicks, yTicks, Px, Py, xFormat ?? Compact, Number);
        var plot = new XElement(Svg + "g", new XAttribute("class", "plot"));
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            var color = Palette[i % Palette.Length];
            if (p.YError is { } e && e > 0)
                plot.Add(new XElement(Svg + "line", new XAttribute("class", "error-bar"),
                    A("x1", Px(p.X)), A("x2", Px(p.X)), A("y1", Py(p.Y - e)), A("y2", Py(p.Y + e)),
                    new XAttribute("stroke", color), new XAttribute("stroke-width", "1.5")));
            plot.Add(new XElement(Svg + "circle", new XAttribute("class", "point"),
                new XAttribute("data-label", p.Label), new XAttribute("data-x", Number(p.X)), new XAttribute("data-y", Number(p.Y)),
                A("cx", Px(p.X)), A("cy", Py(p.Y)), new XAttribute("r", "5"), new XAttribute("fill", color),
                new XElement(Svg + "title", $"{p.Label}: {Number(p.Y)}{(p.YError is { } err ? " ± " + Number(err) : "")} at {Compact(p.X)}")));
            plot.Add(new XElement(Svg + "text", new XAttribute("class", "point-label"),
                A("x", Px(p.X) + 8), A("y", Py(p.Y) - 8 - (i % 2) * 12), new XAttribute("font-size", "11"), new XAttribute("fill", color), p.Label));
        }
        root.Add(plot);
        return Serialize(root);
    }

    public static string Lines(string title, string xTitle, string yTitle, IReadOnlyList<LineSeries> series, Func<double, string>? xFormat = null)
    {
        const double right = 200; // legend
        var plotW = Width - Left - right;
        var plotH = Height - Top - Bottom;
        var all = series.SelectMany(s => s.Points).ToList();
        var (x0, x1, xTicks) = Axis(all.Select(p => p.X));
        var (y0, y1, yTicks) = Axis(all.Select(p => p.Y));
        double Px(double x) => Left + (x - x0) / (x1 - x0) * plotW;
        double Py(double y) => Top + plotH - (y - y0) / (y1 - y0) * plotH;

        var root = Frame(title, xTitle, yTitle, plotW, plotH, xTicks, yTicks, Px, Py, xFormat ?? Number, Number);
        var plot = new XElement(Svg + "g", new XAttribute("class", "plot"));
        var legend = new XElement(Svg + "g", new XAttribute("class", "legend"));
        for (var i = 0; i < series.Count; i++)
        {
            var s = series[i];
            var color = Palette[i % Palette.Length];
            var pts = string.Join(" ", s.Points.Select(p => $"{Number(Px(p.X))},{Number(Py(p.Y))}"));
            plot.Add(new XElement(Svg + "polyline", new XAttribute("class", "series"), new XAttribute("data-label", s.Label),
                new XAttribute("points", pts), new XAttribute("fill", "none"), new XAttribute("stroke", color), new XAttribute("stroke-width", "2"),
                new XElement(Svg + "title", s.Label)));
            foreach (var p in s.Points.Count <= 30 ? s.Points : [])
                plot.Add(new XElement(Svg + "circle", new XAttribute("class", "series-point"), new XAttribute("data-label", s.Label),
                    A("cx", Px(p.X)), A("cy", Py(p.Y)), new XAttribute("r", "3"), new XAttribute("fill", color)));
            var ly = Top + 10 + i * 18;
            legend.Add(new XElement(Svg + "line", A("x1", Width - right + 16), A("x2", Width - right + 40), A("y1", ly), A("y2", ly),
                new XAttribute("stroke", color), new XAttribute("stroke-width", "3")));
            legend.Add(new XElement(Svg + "text", new XAttribute("class", "legend"), A("x", Width - right + 46), A("y", ly + 4),
                new XAttribute("font-size", "11"), s.Label));
        }
        root.Add(plot, legend);
        return Serialize(root);
    }

    static XElement Frame(string title, string xTitle, string yTitle, double plotW, double plotH,
        IReadOnlyList<double> xTicks, IReadOnlyList<double> yTicks, Func<double, double> px, Func<double, double> py,
        Func<double, string> xFormat, Func<double, string> yFormat)
    {
        var root = new XElement(Svg + "svg",
            new XAttribute("width", Number(Width)), new XAttribute("height", Number(Height)),
            new XAttribute("viewBox", $"0 0 {Number(Width)} {Number(Height)}"),
            new XAttribute("font-family", "sans-serif"));
        root.Add(new XElement(Svg + "rect", new XAttribute("width", "100%"), new XAttribute("height", "100%"), new XAttribute("fill", "white")));
        root.Add(new XElement(Svg + "text", new XAttribute("class", "title"), A("x", Width / 2), A("y", 24),
            new XAttribute("text-anchor", "middle"), new XAttribute("font-size", "15"), title));
        var grid = new XElement(Svg + "g", new XAttribute("class", "grid"), new XAttribute("stroke", "#e5e5e5"));
        var axes = new XElement(Svg + "g", new XAttribute("class", "axes"), new XAttribute("font-size", "11"));
        foreach (var t in xTicks)
        {
            grid.Add(new XElement(Svg + "line", A("x1", px(t)), A("x2", px(t)), A("y1", Top), A("y2", Top + plotH)));
            axes.Add(new XElement(Svg + "text", new XAttribute("class", "tick x"), A("x", px(t)), A("y", Top + plotH + 16),
                new XAttribute("text-anchor", "middle"), xFormat(t)));
        }
        foreach (var t in yTicks)
        {
            grid.Add(new XElement(Svg + "line", A("x1", Left), A("x2", Left + plotW), A("y1", py(t)), A("y2", py(t))));
            axes.Add(new XElement(Svg + "text", new XAttribute("class", "tick y"), A("x", Left - 6), A("y", py(t) + 4),
                new XAttribute("text-anchor", "end"), yFormat(t)));
        }
        axes.Add(new XElement(Svg + "line", new XAttribute("class", "axis x"), A("x1", Left), A("x2", Left + plotW), A("y1", Top + plotH), A("y2", Top + plotH), new XAttribute("stroke", "black")));
        axes.Add(new XElement(Svg + "line", new XAttribute("class", "axis y"), A("x1", Left), A("x2", Left), A("y1", Top), A("y2", Top + plotH), new XAttribute("stroke", "black")));
        axes.Add(new XElement(Svg + "text", new XAttribute("class", "axis-title x"), A("x", Left + plotW / 2), A("y", Height - 18),
            new XAttribute("text-anchor", "middle"), new XAttribute("font-size", "13"), xTitle));
        var ty = Top + plotH / 2;
        axes.Add(new XElement(Svg + "text", new XAttribute("class", "axis-title y"), A("x", 18), A("y", ty),
            new XAttribute("text-anchor", "middle"), new XAttribute("font-size", "13"),
            new XAttribute("transform", $"rotate(-90 18 {Number(ty)})"), yTitle));
        root.Add(grid, axes);
        return root;
    }

    /// <summary>A padded axis range and "nice" ticks (1, 2, 2.5 or 5 × 10^k apart) inside it; a single value gets a range around it.</summary>
    internal static (double Min, double Max, IReadOnlyList<double> Ticks) Axis(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToList();
        double lo = v.Count == 0 ? 0 : v.Min(), hi = v.Count == 0 ? 1 : v.Max();
        if (hi - lo < 1e-12 * Math.Max(1, Math.Abs(hi)))
        {
            var pad = Math.Abs(hi) > 0 ? Math.Abs(hi) * 0.1 : 1;
            lo -= pad;
            hi += pad;
        }
        else
        {
            var pad = (hi - lo) * 0.08;
            lo -= pad;
            hi += pad;
        }
        var raw = (hi - lo) / 5;
        var mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * mag).First(s => s >= raw);
        var ticks = new List<double>();
        for (var t = Math.Ceiling(lo / step) * step; t <= hi + step * 1e-9; t += step)
            ticks.Add(Math.Round(t / step) * step + 0.0); // + 0.0 turns -0 into 0
        return (lo, hi, ticks);
    }

    /// <summary>Counts as people read them: 950, 12.5k, 1.2M.</summary>
    public static string Compact(double x)
    {
        var a = Math.Abs(x);
        return a >= 1e9 ? Number(Math.Round(x / 1e9, 2)) + "G"
            : a >= 1e6 ? Number(Math.Round(x / 1e6, 2)) + "M"
            : a >= 1e3 ? Number(Math.Round(x / 1e3, 1)) + "k"
            : Number(Math.Round(x, 2));
    }

    /// <summary>At most 3 decimals, invariant; never "-0".</summary>
    public static string Number(double x)
    {
        var r = Math.Round(x, 3);
        return (r == 0 ? 0.0 : r).ToString("0.###", CultureInfo.InvariantCulture);
    }

    static XAttribute A(string name, double value) => new(name, Number(value));

    static string Serialize(XElement root) =>
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" + root.ToString(SaveOptions.None).Replace("\r\n", "\n") + "\n";
}
