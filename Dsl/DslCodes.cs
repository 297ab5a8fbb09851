namespace ArchDsl.Dsl;

/// <summary>Diagnostic codes of the Dsl layer (AD0001–AD0099): syntax, then files and imports.</summary>
public static class DslCodes
{
    /// <summary>A character that cannot start any token (<c>$</c>, <c>'</c>, NUL, non-ASCII outside strings and comments).</summary>
    public const string InvalidCharacter = "AD0001";
    /// <summary>A string literal whose closing <c>"</c> is missing before the end of its line.</summary>
    public const string UnterminatedString = "AD0002";
    /// <summary>A closing bracket with no matching opening bracket (<c>unexpected '}'</c>).</summary>
    public const string UnmatchedBracket = "AD0003";
    /// <summary>An opening bracket that is never closed.</summary>
    public const string UnclosedBracket = "AD0004";
    /// <summary>A construct's closing bracket is missing (<c>expected ')' to close the argument list of 'conv'</c>).</summary>
    public const string ExpectedClosingBracket = "AD0005";
    /// <summary>Something follows a step of a chain that is neither <c>-&gt;</c> nor the start of the next statement.</summary>
    public const string ExpectedArrowOrEnd = "AD0006";
    /// <summary>An arch parameter without <c>= default</c>.</summary>
    public const string ExpectedEquals = "AD0007";
    /// <summary>Top level holds something other than <c>arch</c>, <c>block</c> or <c>import</c>.</summary>
    public const string ExpectedDeclaration = "AD0008";
    /// <summary>An arch body holds a word that does not start a statement (<c>stme</c> for <c>stem</c>).</summary>
    public const string ExpectedStatement = "AD0009";
    /// <summary>Brackets, unary minus or nested bodies deeper than the parser's limit (200).</summary>
    public const string NestingTooDeep = "AD0010";
    /// <summary>An expression (number, name, call, list, string) was required.</summary>
    public const string ExpectedExpression = "AD0011";
    /// <summary>A name was required (after <c>arch</c>, <c>block</c>, <c>input</c>, as an entry key…).</summary>
    public const string ExpectedName = "AD0012";
    /// <summary>A specific punctuation token was required (<c>:</c>, <c>{</c>, <c>*</c>, <c>(</c>…).</summary>
    public const string ExpectedToken = "AD0013";
    /// <summary>A malformed number literal (<c>2x</c>, <c>1e</c>) or an integer too large for 64 bits.</summary>
    public const string InvalidNumber = "AD0014";
    /// <summary><c>import</c> not followed by a quoted path.</summary>
    public const string ExpectedString = "AD0015";
    /// <summary>One expression with more binary operators than the parser's limit (1000).</summary>
    public const string ExpressionTooLong = "AD0016";
    /// <summary>A chain step (an op, <c>residual { }</c> or <c>repeat n { }</c>) was required.</summary>
    public const string ExpectedStep = "AD0017";
    /// <summary>A file has more than <see cref="SpecParser.MaxDiagnostics"/> syntax errors; the rest are counted, not listed.</summary>
    public const string TooManyErrors = "AD0018";

    /// <summary>An imported file does not exist (reported at the import, naming the resolved path).</summary>
    public const string ImportNotFound = "AD0050";
    /// <summary>Imports form a cycle (reported at the import that closes it, naming the chain).</summary>
    public const string ImportCycle = "AD0051";
    /// <summary>The root spec file does not exist.</summary>
    public const string FileNotFound = "AD0052";
    /// <summary>A spec file exists but cannot be read (permissions, I/O error, not text).</summary>
    public const string FileUnreadable = "AD0053";

    /// <summary>A bug in the parser caught at its boundary (never expected; reported rather than thrown).</summary>
    public const string InternalError = "AD0099";
}
