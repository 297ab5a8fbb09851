using System.Text;

namespace ArchDsl.Presentation;

/// <summary>The reports' HTML pieces: escaping, the page around a body, a figure. Pages are UTF-8 and self-contained
/// in their folder (figures are referenced by file name only).</summary>
public static class HtmlPage
{
    /// <summary>Escapes markup only; the page is UTF-8, so ± and → stay readable in its source.</summary>
    public static string E(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;");

    const string Style = "body{font-family:'DejaVu Sans',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}" +
                         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}td.n{text-align:right}" +
                         "figure{margin:2em 0}figure img{max-width:100%}pre{background:#f6f6f6;padding:.8em;overflow-x:auto}";

    public static string Page(string title, string body) =>
        $"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{E(title)}</title>\n<style>{Style}</style>\n</head>\n<body>\n" +
        $"<h1>{E(title)}</h1>\n{body}</body>\n</html>\n";

    /// <summary>A figure showing <c>&lt;name&gt;.svg</c> with a link to the PNG.</summary>
    public static string Figure(Figure f) =>
        $"<figure>\n<img src=\"{E(f.Name)}.svg\" alt=\"{E(f.Title)}\">\n<figcaption>{E(f.Title)} " +
        $"(<a href=\"{E(f.Name)}.png\">PNG</a>, <a href=\"{E(f.Name)}.svg\">SVG</a>)</figcaption>\n</figure>\n";

    /// <summary>A table: header cells, then rows; cells whose text parses as a number are right-aligned.</summary>
    public static string Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var sb = new StringBuilder("<table>\n<tr>");
        foreach (var h in header) sb.Append("<th>").Append(E(h)).Append("</th>");
        sb.Append("</tr>\n");
        foreach (var row in rows)
        {
            sb.Append("<tr>");
            foreach (var c in row)
                sb.Append(double.TryParse(c.Split(' ')[0], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)
                    ? "<td class=\"n\">" : "<td>").Append(E(c)).Append("</td>");
            sb.Append("</tr>\n");
        }
        return sb.Append("</table>\n").ToString();
    }
}
