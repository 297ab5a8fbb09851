using System.Globalization;
using Sprache;
using static ArchDsl.Dsl.Kit;

namespace ArchDsl.Dsl;

/// <summary>
/// The grammar of spec files as Sprache parsers, one per EBNF rule of Ast.cs (quoted beside each).
/// An instance is built per <see cref="SourceText"/> so every node gets a span in that file.
///
/// Conventions that make errors precise and the parse linear:
/// - every token parser skips leading trivia and, when the token is not there, fails WITHOUT consuming
///   (its remainder is its input), so an alternative can be tried;
/// - after a construct's first token the rest is committed: <c>Expect</c> turns "not there" into a
///   specific syntax error, and <c>XOr</c>/<see cref="Kit.Many{T}"/>/<see cref="Kit.Opt{T}"/> never backtrack
///   over a committed failure;
/// - recursion (brackets, bodies, unary minus) goes through a depth guard.
/// Keywords are reserved only where they would be ambiguous: as op names in chains. Entry keys, parameter
/// names and values may be keywords (<c>residual: residual</c>, <c>arch A(residual = token)</c>).
/// Deviations from the EBNF, all supersets that keep the AST shape: a top-level <c>repeat</c>/<c>residual</c>
/// statement may continue with <c>-&gt; steps</c> (it is a "layers" stage); an arch header's parameters must
/// have defaults (<c>dim = 128</c>, AD0007), a block's need not.
/// </summary>
internal sealed class Grammar
{
    public const int MaxDepth = 200;
    public const int MaxOperators = 1000;

    public static readonly HashSet<string> DeclKeywords = ["arch", "block", "import"];
    public static readonly HashSet<string> StmtKeywords = ["input", "stem", "head", "layers", "mixer", "repeat", "residual", "train"];
    public static readonly HashSet<string> Keywords = [.. DeclKeywords, .. StmtKeywords];
    /// <summary>Mixer entries whose value is a chain; any other key holds a list of values unless the value
    /// continues with '->' or '{' (then it is a chain too).</summary>
    public static readonly HashSet<string> ChainKeys = ["token", "channel"];

    private readonly SourceText _src;
    private readonly DepthGuard _guard = new(MaxDepth);

    public Grammar(SourceText source)
    {
        _src = source;

        // ---- tokens ---------------------------------------------------------------------------------------
        Word = Token(RawIdent, "a name");
        Number = Token(RawNumber, "a number").Select(t => t.Value.IsFloat
            ? (Expr)new FloatLit(t.Value.Float, t.Span)
            : new IntLit(t.Value.Int, t.Span));
        Str = Token(RawString, "a string").Select(t => new StringLit(t.Value, t.Span));

        // ---- expressions ----------------------------------------------------------------------------------
        // expr = term { ("+"|"-") term } ;
        Expr = Ref(() => Sum!);
        Sum = BinaryChain(Ref(() => Term!), Sym("+", "-"));
        // term = unary { ("*"|"/"|"%") unary } ;
        Term = BinaryChain(Ref(() => Unary!), Sym("*", "/", "%"));
        // unary = "-" unary | atom ;
        var negated = _guard.Nest(Ref(() => Unary!)
            .Expect(DslCodes.ExpectedExpression, ["an expression after '-'"]));
        Unary =
            (from minus in Sym("-")
             from operand in negated
             select (Expr)new Negate(operand, minus.Span.To(operand.Span)))
            .XOr(Ref(() => Atom!));
        // atom = number | string | "[" [ expr { "," expr } ] "]" | ident [ "(" args ")" ] | "(" expr ")" ;
        Atom = Number.XOr(Str).XOr(Ref(() => ListLit!)).XOr(Ref(() => NameOrCall!)).XOr(Ref(() => Paren!));

        var listItems = _guard.Nest(OptRef(ExprList("the list")).Select(l => l ?? []));
        var listClose = Sym("]").Expect(DslCodes.ExpectedClosingBracket, ["']'", "the list"],
            "list items are separated by ','");
        ListLit =
            from open in Sym("[")
            from items in listItems
            from close in listClose
            select (Expr)new ListExpr(items, open.Span.To(close.Span));

        NameOrCall =
            from id in Word
            from args in OptArgList(id.Value)
            select args is { } a
                ? (Expr)new CallExpr(id.Value, a.Args, id.Span, id.Span.To(a.Close))
                : new Name(id.Value, id.Span);

        var parenInner = _guard.Nest(Expr.Expect(DslCodes.ExpectedExpression, ["an expression after '('"]));
        Paren =
            from open in Sym("(")
            from inner in parenInner
            from close in Sym(")").ExpectLabelled(DslCodes.ExpectedClosingBracket, ["')'", "'('"],
                null, open.Span, "this '(' is never closed")
            select inner with { Span = open.Span.To(close.Span) };

        // arg = [ ident ":" ] expr ;   (the "ident :" prefix is the only place the grammar looks two tokens ahead)
        var argName = from n in Word from colon in Sym(":") select n;
        var namedValues = new Dictionary<string, Parser<Expr>>();
        Parser<Expr> NamedValue(string name)
        {
            if (!namedValues.TryGetValue(name, out var p))
                namedValues[name] = p = Expr.Expect(DslCodes.ExpectedExpression, [$"a value after '{name}:'"]);
            return p;
        }
        Arg =
            from name in argName.Optional()
            from value in name.IsDefined ? NamedValue(name.Get().Value) : Expr
            select new Arg(name.IsDefined ? name.Get().Value : null, value,
                name.IsDefined ? name.Get().Span.To(value.Span) : value.Span);
        // args = [ arg { "," arg } ] ;
        var argAfterComma = Arg.Expect(DslCodes.ExpectedExpression, ["an argument after ','"]);
        var moreArgs = Many(from comma in Sym(",") from a in argAfterComma select a);
        Args = OptRef(
                from first in Arg
                from rest in moreArgs
                select Prepend(first, rest))
            .Select(l => l ?? []);

        // ---- chains ---------------------------------------------------------------------------------------
        // step = "residual" "{" chain "}" | "repeat" expr "{" chain "}" | ident [ "(" args ")" ] ;
        var residualBody = Body("'residual'", "'residual {'", hintOpen: "a residual is written 'residual { chain }'");
        ResidualStep =
            from kw in Kw("residual")
            from body in residualBody
            select (Step)new ResidualStep(body.Chain, kw.Span.To(body.Close));
        var repeatCount = Expr.Expect(DslCodes.ExpectedExpression, ["a repeat count after 'repeat'"],
            "e.g. 'repeat 2 { linear(dim) -> gelu }'");
        var repeatBody = Body("the repeat count", "'repeat'");
        RepeatStep =
            from kw in Kw("repeat")
            from count in repeatCount
            from body in repeatBody
            select (Step)new RepeatStep(count, body.Chain, kw.Span.To(body.Close));
        OpStep =
            from id in OpName
            from args in OptArgList(id.Value)
            select (Step)new OpStep(id.Value, args?.Args ?? [], args is not null, id.Span,
                args is { } a ? id.Span.To(a.Close) : id.Span);
        Step = ResidualStep.XOr(RepeatStep).XOr(OpStep);
        // chain = step { "->" step } ;
        Chain = ChainFrom(Step);

        // ---- statements -----------------------------------------------------------------------------------
        // "input" ident "[" expr { "," expr } "]"
        InputStmt =
            from kw in Kw("input")
            from layout in Word.Expect(DslCodes.ExpectedName, ["a layout (image or tokens) after 'input'"],
                "e.g. 'input image[3, 224, 224]'")
            from open in Sym("[").Expect(DslCodes.ExpectedToken, [$"'[' with the dimensions of '{layout.Value}'"],
                $"e.g. 'input {layout.Value}[3, 224, 224]'")
            from dims in ExprList($"the dimensions of '{layout.Value}'").Expect(DslCodes.ExpectedExpression,
                [$"the dimensions of '{layout.Value}'"])
            from close in Sym("]").Expect(DslCodes.ExpectedClosingBracket,
                ["']'", $"the dimensions of '{layout.Value}'"], "dimensions are separated by ','")
            select (Stmt)new InputStmt(layout.Value, dims, layout.Span, kw.Span.To(close.Span));

        // ( "stem" | "head" | "layers" ) chain
        StageStmt =
            from kw in Kw("stem").XOr(Kw("head")).XOr(Kw("layers"))
            from body in Chain.Expect(DslCodes.ExpectedStep, [$"an op after '{kw.Value}'"])
            select (Stmt)new StageStmt(kw.Value, body, kw.Span.To(body.Span));

        // "repeat" expr "{" chain "}" | "residual" "{" chain "}"   (a "layers" stage; may go on with "-> step")
        LayersStmt =
            from body in ChainFrom(RepeatStep.XOr(ResidualStep))
            select (Stmt)new StageStmt("layers", body, body.Span);

        // "mixer" "*" expr "{" { ident ":" ( chain | expr { "," expr } ) } "}"
        MixerStmt =
            from kw in Kw("mixer")
            from star in Sym("*").Expect(DslCodes.ExpectedToken, ["'*' and the number of blocks after 'mixer'"],
                "e.g. 'mixer * depth { token: … channel: … }'")
            from count in Expr.Expect(DslCodes.ExpectedExpression, ["the number of mixer blocks after '*'"])
            from open in Sym("{").Expect(DslCodes.ExpectedToken, ["'{' to open the mixer's entries"])
            from entries in Many(MixerEntry)
            from close in Sym("}").ExpectLabelled(DslCodes.ExpectedClosingBracket,
                ["a mixer entry ('token:', 'channel:', 'norm:', 'residual:' …) or '}'", "the mixer"],
                "close the mixer with '}' before the next statement", open.Span, "the mixer's '{' is never closed")
            select (Stmt)new MixerStmt(count, entries, kw.Span.To(close.Span));

        // "train" "{" { ident ":" expr [ "," ] } "}"
        TrainEntry =
            from key in Word
            from colon in Sym(":").Expect(DslCodes.ExpectedToken, [$"':' after train key '{key.Value}'"],
                "train entries are written 'key: value'")
            from value in Expr.Expect(DslCodes.ExpectedExpression, [$"a value for '{key.Value}'"])
            from comma in Opt(Sym(","))
            select new TrainEntry(key.Value, value, key.Span, key.Span.To(value.Span));
        TrainStmt =
            from kw in Kw("train")
            from open in Sym("{").Expect(DslCodes.ExpectedToken, ["'{' after 'train'"],
                "e.g. 'train { data: fashion-mnist, epochs: 5 }'")
            from entries in Many(TrainEntry)
            from close in Sym("}").Expect(DslCodes.ExpectedClosingBracket,
                ["a 'key: value' entry or '}'", "'train'"])
            select (Stmt)new TrainStmt(entries, kw.Span.To(close.Span));

        // stmt = input | stage | mixer | repeat | residual | train ;
        Statement = InputStmt.XOr(StageStmt).XOr(MixerStmt).XOr(LayersStmt).XOr(TrainStmt);

        // ---- declarations ---------------------------------------------------------------------------------
        // import = "import" string ;
        Import =
            from kw in Kw("import")
            from path in Str.Expect(DslCodes.ExpectedString, [],
                "e.g. import \"../vit.arch\"")
            select new ImportDecl(((StringLit)path).Value, kw.Span.To(path.Span));

        // block = "block" ident [ "(" params ")" ] "{" chain "}" ;
        Block =
            from kw in Kw("block")
            from name in Word.Expect(DslCodes.ExpectedName, ["the block's name after 'block'"])
            from ps in Opt(ParamList(name.Value, requireDefaults: false))
            from open in Sym("{").Expect(DslCodes.ExpectedToken, [$"'{{' to open the body of block '{name.Value}'"],
                $"e.g. 'block {name.Value}(hidden) {{ linear(hidden) -> gelu }}'")
            from body in _guard.Nest(Chain.Expect(DslCodes.ExpectedStep, [$"the ops of block '{name.Value}'"]))
            from close in Sym("}").Expect(DslCodes.ExpectedClosingBracket,
                [$"'->' or '}}'", $"the body of block '{name.Value}'"])
            select new BlockDecl(name.Value, ps?.Params ?? [], body, name.Span, kw.Span.To(close.Span));

        // arch = "arch" ident ( "(" params ")" | "=" ident "(" args ")" ) ...   (the statements are parsed one by one)
        ArchHeader =
            from kw in Kw("arch")
            from name in Word.Expect(DslCodes.ExpectedName, ["the arch's name after 'arch'"])
            from head in ParamList(name.Value, requireDefaults: true).Select(p => new ArchHeader(kw, name, p.Params, null, p.Close))
                .XOr(from eq in Sym("=")
                     from b in ArchBaseRef(name.Value)
                     select new ArchHeader(kw, name, [], b, b.Span))
                .Expect(DslCodes.ExpectedToken, [$"'(' with the parameters of '{name.Value}', or '= Base(…)'"],
                    $"e.g. 'arch {name.Value}(dim = 128, depth = 8)' or 'arch {name.Value} = ConvMixer(dim: 256)'")
            select head;
    }

    // ---- public rules (the recovering driver in SpecParser runs them one declaration / statement at a time) --
    public Parser<Tok<string>> Word { get; }
    public Parser<Expr> Number { get; }
    public Parser<Expr> Str { get; }
    public Parser<Expr> Expr { get; }
    public Parser<Expr> Sum { get; }
    public Parser<Expr> Term { get; }
    public Parser<Expr> Unary { get; }
    public Parser<Expr> Atom { get; }
    public Parser<Expr> ListLit { get; }
    public Parser<Expr> NameOrCall { get; }
    public Parser<Expr> Paren { get; }
    public Parser<Arg> Arg { get; }
    public Parser<List<Arg>> Args { get; }
    public Parser<Step> ResidualStep { get; }
    public Parser<Step> RepeatStep { get; }
    public Parser<Step> OpStep { get; }
    public Parser<Step> Step { get; }
    public Parser<Chain> Chain { get; }
    public Parser<Stmt> InputStmt { get; }
    public Parser<Stmt> StageStmt { get; }
    public Parser<Stmt> LayersStmt { get; }
    public Parser<Stmt> MixerStmt { get; }
    public Parser<TrainEntry> TrainEntry { get; }
    public Parser<Stmt> TrainStmt { get; }
    public Parser<Stmt> Statement { get; }
    public Parser<ImportDecl> Import { get; }
    public Parser<BlockDecl> Block { get; }
    public Parser<ArchHeader> ArchHeader { get; }

    public TextInput At(int offset) => new(_src, offset);

    // ---- lexemes: raw (no trivia), then Token() adds trivia skipping and the span ---------------------------

    private static readonly Parser<string> RawIdent = i =>
    {
        if (i.AtEnd || !Lexical.IsIdentStart(i.Current)) return Result.Failure<string>(i, "", ["a name"]);
        var end = Lexical.ScanIdent(i.Source, i.Position);
        return Result.Success(i.Source[i.Position..end], ((TextInput)i).At(end));
    };

    private readonly record struct NumberValue(bool IsFloat, long Int, double Float);

    private static readonly Parser<NumberValue> RawNumber = i =>
    {
        var s = i.Source;
        var start = i.Position;
        if (!Lexical.IsNumberStart(s, start)) return Result.Failure<NumberValue>(i, "", ["a number"]);
        var end = Lexical.ScanNumber(s, start, out var isFloat, out var badEnd);
        var after = ((TextInput)i).At(badEnd);
        if (badEnd > end)
            return Fail<NumberValue>(after, new SyntaxError(DslCodes.InvalidNumber, [Clip(s[start..badEnd])],
                "a number is digits with an optional fraction and exponent, e.g. 128, 1_000, 0.01, .5, 4., 1e-6; put a space or operator before a name",
                start, badEnd - start));
        var text = s[start..end];
        if (Lexical.TryNumberValue(text, isFloat, out var integer, out var real))
            return Result.Success(new NumberValue(isFloat, integer, real), after);
        return isFloat
            ? Fail<NumberValue>(after, new SyntaxError(DslCodes.NumberTooLarge, ["number", Clip(text)], null, start, end - start))
            : Fail<NumberValue>(after, new SyntaxError(DslCodes.NumberTooLarge, ["integer", Clip(text)], "integers must fit in 64 bits", start, end - start));
    };

    private static readonly Parser<string> RawString = i =>
    {
        if (i.AtEnd || i.Current != '"') return Result.Failure<string>(i, "", ["a string"]);
        var close = Lexical.ScanString(i.Source, i.Position, out var value, out var end);
        if (close < 0)
            return Fail<string>(((TextInput)i).At(Math.Max(end, i.Position + 1)), new SyntaxError(DslCodes.UnterminatedString, [],
                "close the string with '\"' on the same line", i.Position, Math.Max(1, end - i.Position)));
        return Result.Success(value, ((TextInput)i).At(close));
    };

    /// <summary>trivia then the lexeme, with the lexeme's span; a lexeme that is not there fails at the token's
    /// input, consuming nothing. (One delegate, not <c>from _ in Trivia from s in raw.Span() select …</c>: every
    /// token attempt — most of them failures while alternatives are tried — used to allocate a dozen closures,
    /// results and line/column lookups; this is the parser's innermost loop.)</summary>
    private Parser<Tok<T>> Token<T>(Parser<T> raw, string what)
    {
        IEnumerable<string> expected = [what];
        return i =>
        {
            var start = Lexical.SkipTrivia(i.Source, i.Position);
            var r = raw(((TextInput)i).At(start));
            if (r.WasSuccessful)
                return Result.Success(new Tok<T>(r.Value, new Span(_src, start, r.Remainder.Position - start)), r.Remainder);
            return ErrorOf(r) is not null
                ? Result.Failure<Tok<T>>(r.Remainder, r.Message, r.Expectations)
                : Result.Failure<Tok<T>>(i, "", expected);
        };
    }

    private readonly Dictionary<string, Parser<Tok<string>>> _syms = new(), _kws = new();

    /// <summary>A punctuation token (matched in place: no lexeme string, no intermediate results).</summary>
    private Parser<Tok<string>> Sym(string p)
    {
        if (_syms.TryGetValue(p, out var parser)) return parser;
        IEnumerable<string> expected = [$"'{p}'"];
        return _syms[p] = i =>
        {
            var s = i.Source;
            var start = Lexical.SkipTrivia(s, i.Position);
            return IsPunctAt(s, start, p)
                ? Result.Success(new Tok<string>(p, new Span(_src, start, p.Length)), ((TextInput)i).At(start + p.Length))
                : Result.Failure<Tok<string>>(i, "", expected);
        };
    }

    /// <summary>Punctuation <paramref name="p"/> at <paramref name="pos"/> ('-' only when it does not begin '->').</summary>
    private static bool IsPunctAt(string s, int pos, string p) =>
        string.CompareOrdinal(s, pos, p, 0, p.Length) == 0 && pos + p.Length <= s.Length
        && !(p == "-" && pos + 1 < s.Length && s[pos + 1] == '>');

    /// <summary><c>( p1 | p2 | … )</c> of punctuation: the same as <c>Sym(p1).XOr(Sym(p2))…</c> (first match wins; when
    /// none matches, one failure expecting them all, in order), without a failure and a merge per alternative —
    /// the operators are tried after every operand.</summary>
    private Parser<Tok<string>> Sym(params string[] ps)
    {
        var key = string.Join(" ", ps);
        if (_syms.TryGetValue(key, out var parser)) return parser;
        IEnumerable<string> expected = ps.Select(p => $"'{p}'").Distinct().ToArray();
        return _syms[key] = i =>
        {
            var s = i.Source;
            var start = Lexical.SkipTrivia(s, i.Position);
            foreach (var p in ps)
                if (IsPunctAt(s, start, p))
                    return Result.Success(new Tok<string>(p, new Span(_src, start, p.Length)), ((TextInput)i).At(start + p.Length));
            return Result.Failure<Tok<string>>(i, "", expected);
        };
    }

    /// <summary>A keyword: an identifier token with exactly this text (compared in place, no substring).</summary>
    private Parser<Tok<string>> Kw(string k)
    {
        if (_kws.TryGetValue(k, out var parser)) return parser;
        IEnumerable<string> expected = [$"'{k}'"];
        return _kws[k] = i =>
        {
            var s = i.Source;
            var start = Lexical.SkipTrivia(s, i.Position);
            if (start < s.Length && Lexical.IsIdentStart(s[start]))
            {
                var end = Lexical.ScanIdent(s, start);
                if (end - start == k.Length && string.CompareOrdinal(s, start, k, 0, k.Length) == 0)
                    return Result.Success(new Tok<string>(k, new Span(_src, start, k.Length)), ((TextInput)i).At(end));
            }
            return Result.Failure<Tok<string>>(i, "", expected);
        };
    }

    /// <summary>The name of an op step: any identifier but a keyword (so a dangling '->' before the next
    /// statement is reported there, not parsed as an op called 'head').</summary>
    private Parser<Tok<string>> OpName => i =>
    {
        var r = Word(i);
        return r.WasSuccessful && !Keywords.Contains(r.Value.Value) ? r : Result.Failure<Tok<string>>(i, "", ["an op"]);
    };

    // ---- helpers that build rules ----------------------------------------------------------------------------

    private Parser<Expr> BinaryChain(Parser<Expr> operand, Parser<Tok<string>> op)
    {
        var operations = Many(
            from o in op
            from right in operand.Expect(DslCodes.ExpectedExpression, [$"an expression after '{o.Value}'"])
            select (Op: o.Value, Right: right),
            MaxOperators,
            at => Fail<List<(string Op, Expr Right)>>(at, new SyntaxError(DslCodes.ExpressionTooLong, [MaxOperators],
                "split it into named parameters")));
        return
            from first in operand
            from rest in operations
            select rest.Aggregate(first, (left, r) => new Binary(left, r.Op, r.Right, left.Span.To(r.Right.Span)));
    }

    /// <summary><c>expr { "," expr }</c>, each item after a comma required.</summary>
    private Parser<List<Expr>> ExprList(string what)
    {
        var item = Expr.Expect(DslCodes.ExpectedExpression, [$"an expression after ',' in {what}"]);
        var more = Many(from comma in Sym(",") from e in item select e);
        return
            from first in Expr
            from rest in more
            select Prepend(first, rest);
    }

    private readonly record struct ArgsAndClose(List<Arg> Args, Span Close);

    private readonly Dictionary<string, Parser<ArgsAndClose?>> _argLists = new();

    /// <summary><c>[ "(" args ")" ]</c> after the name of a call or op; one parser per name, reused (names repeat,
    /// and building it for every name that turns out to have no arguments was a good part of the parse).</summary>
    private Parser<ArgsAndClose?> OptArgList(string callee)
    {
        if (_argLists.TryGetValue(callee, out var parser)) return parser;
        var nestedArgs = _guard.Nest(Args);
        var close = Sym(")").Expect(DslCodes.ExpectedClosingBracket,
            ["')'", $"the argument list of '{callee}'"], "arguments are separated by ','");
        return _argLists[callee] = Opt(
            from open in Sym("(")
            from args in nestedArgs
            from c in close
            select new ArgsAndClose(args, c.Span));
    }

    private Parser<ArchBase> ArchBaseRef(string arch) =>
        from name in Word.Expect(DslCodes.ExpectedName, [$"the name of the arch '{arch}' derives from after '='"],
            $"e.g. 'arch {arch} = ViT(dim: 384)'")
        from open in Sym("(").Expect(DslCodes.ExpectedToken, [$"'(' with the arguments of '{name.Value}'"],
            $"a derived arch is written 'arch {arch} = {name.Value}(name: value, …)'")
        from args in _guard.Nest(Args)
        from close in Sym(")").Expect(DslCodes.ExpectedClosingBracket,
            ["')'", $"the argument list of '{name.Value}'"], "arguments are separated by ','")
        select new ArchBase(name.Value, args, name.Span, name.Span.To(close.Span));

    private readonly record struct ParamsAndClose(List<ParamDecl> Params, Span Close);

    /// <summary><c>"(" params ")"</c>; <c>param = ident [ "=" expr ]</c>, the default required in an arch header.</summary>
    private Parser<ParamsAndClose> ParamList(string owner, bool requireDefaults)
    {
        var eq = Sym("=");
        Parser<ParamDecl> param =
            from name in Word
            from def in requireDefaults
                ? eq.Expect(DslCodes.ExpectedEquals, [name.Value],
                        $"an arch's parameters need defaults: '{name.Value} = 128'; ':' is for arguments in calls")
                    .Then(_ => Expr.Expect(DslCodes.ExpectedExpression, [$"a default value for '{name.Value}' after '='"]))
                    .Select(e => (Expr?)e)
                : Opt(from e in eq
                      from v in Expr.Expect(DslCodes.ExpectedExpression, [$"a default value for '{name.Value}' after '='"])
                      select new Boxed(v)).Select(b => b?.Value)
            select new ParamDecl(name.Value, def, name.Span, def is null ? name.Span : name.Span.To(def.Span));
        var paramAfterComma = param.Expect(DslCodes.ExpectedName, ["a parameter name after ','"]);
        var moreParams = Many(from comma in Sym(",") from p in paramAfterComma select p);
        var parameters = OptRef(from first in param
                                from rest in moreParams
                                select Prepend(first, rest));
        var close = Sym(")").Expect(DslCodes.ExpectedClosingBracket,
            ["')'", $"the parameter list of '{owner}'"], "parameters are separated by ','");
        return
            from open in Sym("(")
            from ps in parameters
            from c in close
            select new ParamsAndClose(ps ?? [], c.Span);
    }

    private readonly record struct Boxed(Expr Value);

    private readonly record struct BodyAndClose(Chain Chain, Span Close);

    /// <summary><c>"{" chain "}"</c> of a residual or repeat step, nested under the depth guard.</summary>
    private Parser<BodyAndClose> Body(string after, string owner, string? hintOpen = null)
    {
        var chain = _guard.Nest(Ref(() => Chain!).Expect(DslCodes.ExpectedStep, [$"an op inside {owner} {{ }}"]));
        var close = Sym("}").Expect(DslCodes.ExpectedClosingBracket, [$"'->' or '}}'", $"{owner} {{ … }}"]);
        return
            from open in Sym("{").Expect(DslCodes.ExpectedToken, [$"'{{' after {after}"], hintOpen)
            from body in chain
            from c in close
            select new BodyAndClose(body, c.Span);
    }

    /// <summary><c>first { "->" step }</c>.</summary>
    private Parser<Chain> ChainFrom(Parser<Step> first)
    {
        var next = Ref(() => Step!).Expect(DslCodes.ExpectedStep, ["an op after '->'"],
            "a chain is 'op -> op -> …'; a step is an op, 'residual { … }' or 'repeat n { … }'");
        var more = Many(from arrow in Sym("->") from s in next select s);
        return
            from head in first
            from rest in more
            select new Chain(Prepend(head, rest), rest.Count == 0 ? head.Span : head.Span.To(rest[^1].Span));
    }

    /// <summary><c>ident ":" ( chain | expr { "," expr } )</c>, then a check that the entry really ended there.</summary>
    private Parser<MixerEntry> MixerEntry => i =>
    {
        var key = Word(i);
        if (!key.WasSuccessful) return Forward<Tok<string>, MixerEntry>(key);
        var k = key.Value;
        if (StartsStatement(k, i, key.Remainder)) return Result.Failure<MixerEntry>(i, "", ["a mixer entry"]); // the mixer's '}' is missing
        var colon = Sym(":").Expect(DslCodes.ExpectedToken, [$"':' after mixer entry '{k.Value}'"],
            "mixer entries are written 'key: value', e.g. 'token: attention(heads)'")(key.Remainder);
        if (!colon.WasSuccessful) return Forward<Tok<string>, MixerEntry>(colon);
        var at = colon.Remainder;

        Chain? chain = null;
        List<Expr> values = [];
        IInput rest;
        var asValues = ChainKeys.Contains(k.Value) ? null : ExprList($"the value of '{k.Value}'")(at);
        if (asValues is { WasSuccessful: false } && IsCommitted(asValues, at))
            return Forward<List<Expr>, MixerEntry>(asValues);
        if (asValues is { WasSuccessful: true } && !LooksLikeChain(asValues.Value, asValues.Remainder))
        {
            values = asValues.Value;
            rest = asValues.Remainder;
        }
        else
        {
            var c = Chain.Expect(DslCodes.ExpectedStep, [asValues is null ? $"an op for '{k.Value}'" : $"an op or a value for '{k.Value}'"])(at);
            if (!c.WasSuccessful) return Forward<Chain, MixerEntry>(c);
            chain = c.Value;
            rest = c.Remainder;
        }

        // the entry must end here: at the next "key:", at '}' or at something the mixer's '}' check reports
        var next = Word(rest);
        if (next.WasSuccessful && !Sym(":")(next.Remainder).WasSuccessful && !StartsStatement(next.Value, rest, next.Remainder))
            return chain is not null
                ? Fail<MixerEntry>(rest, new SyntaxError(DslCodes.ExpectedArrowOrEnd, [SyntaxError.Found],
                    "steps of a chain are joined with '->'"))
                : Fail<MixerEntry>(rest, new SyntaxError(DslCodes.ExpectedToken, [$"',' or the end of entry '{k.Value}'", SyntaxError.Found],
                    "values are separated by ','"));
        var last = chain?.Span ?? values[^1].Span;
        return Result.Success(new MixerEntry(k.Value, chain, values, k.Span, k.Span.To(last)), rest);
    };

    /// <summary>A statement or declaration keyword first on its line and not an entry key (<c>head</c>, not
    /// <c>residual:</c>): where a mixer's entries stop, so a missing '}' is reported as that, at the keyword, with the
    /// mixer's '{' labelled.</summary>
    private bool StartsStatement(Tok<string> word, IInput before, IInput after) =>
        Keywords.Contains(word.Value) && !Sym(":")(after).WasSuccessful
        && before.Source.AsSpan(before.Position, word.Span.Start - before.Position).ContainsAny('\n', '\r');

    /// <summary>A single value followed by '->' or '{' (<c>conv(dim) -> gelu</c>, <c>residual { … }</c>), or <c>repeat …</c>, is really a chain.</summary>
    private bool LooksLikeChain(List<Expr> values, IInput rest) =>
        values.Count == 1 && (Sym("->")(rest).WasSuccessful || Sym("{")(rest).WasSuccessful || values[0] is Name { Id: "repeat" });

    private static List<T> Prepend<T>(T first, List<T> rest)
    {
        rest.Insert(0, first);
        return rest;
    }

    private static string Clip(string s) => s.Length <= 30 ? s : s[..27] + "...";
}

/// <summary>What <c>arch Name(params)</c> or <c>arch Name = Base(args)</c> parsed to, before its statements.</summary>
internal sealed record ArchHeader(Tok<string> Keyword, Tok<string> Name, List<ParamDecl> Params, ArchBase? Base, Span End);
