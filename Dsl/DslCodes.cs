namespace ArchDsl.Dsl;

/// <summary>Diagnostic descriptors of the Dsl layer (AD0001–AD0099): syntax, then files and imports. Each code's
/// wording is its <see cref="DiagnosticDescriptor.MessageFormat"/>; reports fill in the arguments
/// (<see cref="DiagnosticBag.Report"/>). "expected …, found …" formats take what was found as their last argument.</summary>
public static class DslCodes
{
    /// <summary>A character that cannot start any token (<c>$</c>, <c>'</c>, NUL, non-ASCII outside strings and comments).
    /// {0}: the character, and how many more follow it.</summary>
    public static readonly DiagnosticDescriptor InvalidCharacter = new("AD0001", "invalid character", "unexpected {0}");
    /// <summary>A string literal whose closing <c>"</c> is missing before the end of its line.</summary>
    public static readonly DiagnosticDescriptor UnterminatedString = new("AD0002", "unterminated string", "unterminated string");
    /// <summary>A closing bracket with no matching opening bracket. {0}: the bracket.</summary>
    public static readonly DiagnosticDescriptor UnmatchedBracket = new("AD0003", "unmatched closing bracket", "unexpected '{0}'");
    /// <summary>An opening bracket that is never closed. {0}: the bracket.</summary>
    public static readonly DiagnosticDescriptor UnclosedBracket = new("AD0004", "unclosed bracket", "'{0}' is never closed");
    /// <summary>A construct's closing bracket is missing (<c>expected ')' to close the argument list of 'conv'</c>).
    /// {0}: what closes it; {1}: the construct; {2}: found.</summary>
    public static readonly DiagnosticDescriptor ExpectedClosingBracket = new("AD0005", "missing closing bracket", "expected {0} to close {1}, found {2}");
    /// <summary>Something follows a step of a chain that is neither <c>-&gt;</c> nor the start of the next statement. {0}: found.</summary>
    public static readonly DiagnosticDescriptor ExpectedArrowOrEnd = new("AD0006", "expected '->' or end of chain", "expected '->' or end of chain, found {0}");
    /// <summary>An arch parameter without <c>= default</c>. {0}: the parameter; {1}: found.</summary>
    public static readonly DiagnosticDescriptor ExpectedEquals = new("AD0007", "arch parameter without a default", "'=' expected after parameter name '{0}', found {1}");
    /// <summary>Top level holds something other than <c>arch</c>, <c>block</c> or <c>import</c>. {0}: found.</summary>
    public static readonly DiagnosticDescriptor ExpectedDeclaration = new("AD0008", "expected a declaration", "expected 'arch', 'block' or 'import', found {0}");
    /// <summary>An arch body holds a word that does not start a statement (<c>stme</c> for <c>stem</c>). {0}: found.</summary>
    public static readonly DiagnosticDescriptor ExpectedStatement = new("AD0009", "expected a statement",
        "expected a statement (input, stem, mixer, head, layers, repeat, residual, train), found {0}");
    /// <summary>Brackets, unary minus or nested bodies deeper than the parser's limit (200). {0}: the limit.</summary>
    public static readonly DiagnosticDescriptor NestingTooDeep = new("AD0010", "nesting too deep",
        "nesting is too deep (more than {0} levels of brackets, bodies or unary '-')");
    /// <summary>An expression (number, name, call, list, string) was required. {0}: what, and where; {1}: found.</summary>
    public static readonly DiagnosticDescriptor ExpectedExpression = new("AD0011", "expected an expression", "expected {0}, found {1}");
    /// <summary>A name was required (after <c>arch</c>, <c>block</c>, <c>input</c>, as an entry key…). {0}: what; {1}: found.</summary>
    public static readonly DiagnosticDescriptor ExpectedName = new("AD0012", "expected a name", "expected {0}, found {1}");
    /// <summary>A specific token was required (<c>:</c>, <c>{</c>, <c>*</c>, <c>(</c>, the end of a value…). {0}: what; {1}: found.</summary>
    public static readonly DiagnosticDescriptor ExpectedToken = new("AD0013", "expected a token", "expected {0}, found {1}");
    /// <summary>A malformed number literal (<c>2x</c>, <c>1e</c>, <c>1.2.3</c>). {0}: the literal.</summary>
    public static readonly DiagnosticDescriptor InvalidNumber = new("AD0014", "invalid number", "invalid number '{0}'");
    /// <summary><c>import</c> not followed by a quoted path. {0}: found.</summary>
    public static readonly DiagnosticDescriptor ExpectedString = new("AD0015", "expected a quoted path", "expected a quoted path after 'import', found {0}");
    /// <summary>One expression with more binary operators than the parser's limit (1000). {0}: the limit.</summary>
    public static readonly DiagnosticDescriptor ExpressionTooLong = new("AD0016", "expression too long", "expression has more than {0} operators");
    /// <summary>A chain step (an op, <c>residual { }</c> or <c>repeat n { }</c>) was required. {0}: what, and where; {1}: found.</summary>
    public static readonly DiagnosticDescriptor ExpectedStep = new("AD0017", "expected an op", "expected {0}, found {1}");
    /// <summary>A file has more than <see cref="SpecParser.MaxDiagnostics"/> syntax errors; the rest are counted, not listed.
    /// {0}: how many more.</summary>
    public static readonly DiagnosticDescriptor TooManyErrors = new("AD0018", "too many errors", "too many errors in this file; {0} more not shown");
    /// <summary>A well-formed number literal whose value does not fit: an integer beyond 64 bits, a float beyond
    /// <see cref="double.MaxValue"/> (Roslyn's CS1021 beside CS1013). {0}: <c>integer</c> or <c>number</c>; {1}: the literal.</summary>
    public static readonly DiagnosticDescriptor NumberTooLarge = new("AD0019", "number too large", "{0} '{1}' is too large");

    /// <summary>An imported file does not exist (reported at the import). {0}: the resolved path.</summary>
    public static readonly DiagnosticDescriptor ImportNotFound = new("AD0050", "imported file not found", "imported file '{0}' not found");
    /// <summary>Imports form a cycle (reported at the import that closes it). {0}: the chain of files.</summary>
    public static readonly DiagnosticDescriptor ImportCycle = new("AD0051", "import cycle", "import cycle: {0}");
    /// <summary>The root spec file does not exist. {0}: its path.</summary>
    public static readonly DiagnosticDescriptor FileNotFound = new("AD0052", "spec file not found", "spec file '{0}' not found");
    /// <summary>A spec file exists but cannot be read (permissions, I/O error, not text). {0}: its path; {1}: why.</summary>
    public static readonly DiagnosticDescriptor FileUnreadable = new("AD0053", "spec file unreadable", "cannot read '{0}': {1}");

    /// <summary>A bug in the parser caught at its boundary (never expected; reported rather than thrown).
    /// {0}: the exception's type; {1}: its message.</summary>
    public static readonly DiagnosticDescriptor InternalError = new("AD0099", "internal parser error", "internal error in the parser: {0}: {1}");

    /// <summary>Every descriptor above, in code order (for <c>archc explain</c> and the tests).</summary>
    public static IReadOnlyList<DiagnosticDescriptor> All { get; } =
        typeof(DslCodes).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
            .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
            .OrderBy(d => d.Code, StringComparer.Ordinal)
            .ToList();
}
