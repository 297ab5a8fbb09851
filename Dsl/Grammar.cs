using Sprache;
using static ArchDsl.Dsl.Kit;
using static ArchDsl.Dsl.Tokens;

namespace ArchDsl.Dsl;

/// <summary>
/// The grammar of spec files as static Sprache rules, one per production of the EBNF in Ast.cs, in its order
/// (quoted above each); the tokens are <see cref="Tokens"/>. A rule that uses one declared below it refers to it
/// through <see cref="Kit.Ref{T}"/>. Spans come from the input's <see cref="SourceText"/>, so the rules are shared by
/// every parse.
///
/// Conventions that make errors precise and the parse linear:
/// - a token that is not there fails without consuming, so an alternative can be tried (<c>XOr</c>);
/// - after a construct's first token the rest is committed: <c>Expect</c> turns "not there" into a specific syntax
///   error (a <see cref="SyntaxError"/> with its <see cref="DiagnosticDescriptor"/>), and <see cref="Kit.Many{T}"/> /
///   <see cref="Kit.Opt{T}"/> never backtrack over a committed failure (Sprache's <c>Many</c>/<c>Optional</c> would
///   swallow it; its <c>XMany</c> re-parses the failing item, exponential in nesting depth);
/// - recursion (brackets, bodies, unary minus) goes through a depth guard (<see cref="MaxDepth"/>).
/// Keywords are reserved only where they would be ambiguous: as op names in chains. Entry keys, parameter
/// names and values may be keywords (<c>residual: residual</c>, <c>arch A(residual = token)</c>).
/// Deviations from the EBNF, all supersets that keep the AST shape: a top-level <c>repeat</c>/<c>residual</c>
/// statement may continue with <c>-&gt; steps</c> (it is a "layers" stage); an arch header's parameters must
/// have defaults (<c>dim = 128</c>, AD0007), a block's need not.
/// </summary>
internal static class Grammar
{
    public const int MaxDepth = 200;
    public const int MaxOperators = 1000;

    public static readonly HashSet<string> DeclKeywords = ["arch", "block", "import"];
    public static readonly HashSet<string> StmtKeywords = ["input", "stem", "head", "layers", "mixer", "repeat", "residual", "train"];
    public static readonly HashSet<string> Keywords = [.. DeclKeywords, .. StmtKeywords];
    /// <summary>Mixer entries whose value is a chain; any other key holds a list of values unless the value
    /// continues with '->' or '{' (then it is a chain too).</summary>
    public static readonly HashSet<string> ChainKeys = ["token", "channel"];

    /// <summary>An input at <paramref name="offset"/> of <paramref name="source"/>, whose pre-pass scanned <paramref name="lexer"/>
    /// (the driver parses one unit at a time).</summary>
    public static TextInput At(SourceText source, Lexer lexer, int offset) => new(source, offset, lexer.Tokens);

    // file = { import | block | arch } ;   (SpecParser's driver: one declaration at a time, resynchronising after an error)

    // import = "import" string ;
    public static readonly Parser<ImportDecl> Import =
        from kw in Kw("import")
        from path in Str.Expect(DslCodes.ExpectedString, [], "e.g. import \"../vit.arch\"")
        select new ImportDecl(((StringLit)path).Value, kw.Span.To(path.Span));

    // block = "block" ident [ "(" params ")" ] "{" chain "}" ;
    public static readonly Parser<BlockDecl> Block =
        from kw in Kw("block")
        from name in Word.Expect(DslCodes.ExpectedName, ["the block's name after 'block'"])
        from ps in Opt(Params(name.Value, requireDefaults: false))
        from open in Sym("{").Expect(DslCodes.ExpectedToken, [$"'{{' to open the body of block '{name.Value}'"],
            $"e.g. 'block {name.Value}(hidden) {{ linear(hidden) -> gelu }}'")
        from body in Nest(Chain.Expect(DslCodes.ExpectedStep, [$"the ops of block '{name.Value}'"]))
        from close in Sym("}").Expect(DslCodes.ExpectedClosingBracket, ["'->' or '}'", $"the body of block '{name.Value}'"])
        select new BlockDecl(name.Value, ps?.Params ?? [], body, name.Span, kw.Span.To(close.Span));

    // arch = "arch" ident ( "(" params ")" | "=" ident "(" args ")" ) …   (the driver parses the statements one by one)
    public static readonly Parser<ArchHeader> ArchHeader =
        from kw in Kw("arch")
        from name in Word.Expect(DslCodes.ExpectedName, ["the arch's name after 'arch'"])
        from head in Params(name.Value, requireDefaults: true).Select(p => new ArchHeader(kw, name, p.Params, null, p.Close))
            .XOr(from eq in Sym("=")
                 from b in ArchBase(name.Value)
                 select new ArchHeader(kw, name, [], b, b.Span))
            .Expect(DslCodes.ExpectedToken, [$"'(' with the parameters of '{name.Value}', or '= Base(…)'"],
                $"e.g. 'arch {name.Value}(dim = 128, depth = 8)' or 'arch {name.Value} = ConvMixer(dim: 256)'")
        select head;

    /// <summary><c>"=" ident "(" args ")"</c> after <c>arch Name</c>: the arch it derives from.</summary>
    private static Parser<ArchBase> ArchBase(string arch) =>
        from name in Word.Expect(DslCodes.ExpectedName, [$"the name of the arch '{arch}' derives from after '='"],
            $"e.g. 'arch {arch} = ViT(dim: 384)'")
        from open in Sym("(").Expect(DslCodes.ExpectedToken, [$"'(' with the arguments of '{name.Value}'"],
            $"a derived arch is written 'arch {arch} = {name.Value}(name: value, …)'")
        from args in Nest(Args)
        from close in Sym(")").Expect(DslCodes.ExpectedClosingBracket, ["')'", $"the argument list of '{name.Value}'"],
            "arguments are separated by ','")
        select new ArchBase(name.Value, args, name.Span, name.Span.To(close.Span));

    // params = [ param { "," param } ] ;   param = ident [ "=" expr ] ;   (inside "(" … ")"; the default required in an arch header)
    private static Parser<ParamsAndClose> Params(string owner, bool requireDefaults)
    {
        var param =
            from name in Word
            from def in requireDefaults ? RequiredDefault(name.Value) : OptionalDefault(name.Value)
            select new ParamDecl(name.Value, def, name.Span, def is null ? name.Span : name.Span.To(def.Span));
        var parameters = OptRef(
            from first in param
            from rest in Many(from comma in Sym(",") from p in param.Expect(DslCodes.ExpectedName, ["a parameter name after ','"]) select p)
            select Prepend(first, rest));
        return
            from open in Sym("(")
            from ps in parameters
            from close in Sym(")").Expect(DslCodes.ExpectedClosingBracket, ["')'", $"the parameter list of '{owner}'"],
                "parameters are separated by ','")
            select new ParamsAndClose(ps ?? [], close.Span);
    }

    private static Parser<Expr?> RequiredDefault(string name) =>
        from eq in Sym("=").Expect(DslCodes.ExpectedEquals, [name],
            $"an arch's parameters need defaults: '{name} = 128'; ':' is for arguments in calls")
        from value in DefaultValue(name)
        select (Expr?)value;

    private static Parser<Expr?> OptionalDefault(string name) =>
        Opt(from eq in Sym("=") from value in DefaultValue(name) select new Boxed(value)).Select(b => b?.Value);

    private static Parser<Expr> DefaultValue(string name) =>
        Expr.Expect(DslCodes.ExpectedExpression, [$"a default value for '{name}' after '='"]);

    // stmt = input | stage | mixer | repeat | residual | train ;
    public static readonly Parser<Stmt> Statement =
        Ref(() => InputStmt).XOr(Ref(() => StageStmt)).XOr(Ref(() => MixerStmt)).XOr(Ref(() => LayersStmt)).XOr(Ref(() => TrainStmt));

    // "input" ident "[" expr { "," expr } "]"
    private static readonly Parser<Stmt> InputStmt =
        from kw in Kw("input")
        from layout in Word.Expect(DslCodes.ExpectedName, ["a layout (image or tokens) after 'input'"], "e.g. 'input image[3, 224, 224]'")
        from open in Sym("[").Expect(DslCodes.ExpectedToken, [$"'[' with the dimensions of '{layout.Value}'"],
            $"e.g. 'input {layout.Value}[3, 224, 224]'")
        from dims in ExprList($"the dimensions of '{layout.Value}'").Expect(DslCodes.ExpectedExpression, [$"the dimensions of '{layout.Value}'"])
        from close in Sym("]").Expect(DslCodes.ExpectedClosingBracket, ["']'", $"the dimensions of '{layout.Value}'"],
            "dimensions are separated by ','")
        select (Stmt)new InputStmt(layout.Value, dims, layout.Span, kw.Span.To(close.Span));

    // ( "stem" | "head" | "layers" ) chain
    private static readonly Parser<Stmt> StageStmt =
        from kw in Kw("stem").XOr(Kw("head")).XOr(Kw("layers"))
        from body in Chain.Expect(DslCodes.ExpectedStep, [$"an op after '{kw.Value}'"])
        select (Stmt)new StageStmt(kw.Value, body, kw.Span.To(body.Span));

    // "mixer" "*" expr "{" { ident ":" ( chain | expr { "," expr } ) } "}"
    private static readonly Parser<Stmt> MixerStmt =
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

    /// <summary><c>ident ":" ( chain | expr { "," expr } )</c>, then a check that the entry really ended there.</summary>
    private static readonly Parser<MixerEntry> MixerEntry = i =>
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
    private static bool StartsStatement(Tok<string> word, IInput before, IInput after) =>
        Keywords.Contains(word.Value) && !Sym(":")(after).WasSuccessful
        && before.Source.AsSpan(before.Position, word.Span.Start - before.Position).ContainsAny('\n', '\r');

    /// <summary>A single value followed by '->' or '{' (<c>conv(dim) -> gelu</c>, <c>residual { … }</c>), or <c>repeat …</c>, is really a chain.</summary>
    private static bool LooksLikeChain(List<Expr> values, IInput rest) =>
        values.Count == 1 && (Sym("->")(rest).WasSuccessful || Sym("{")(rest).WasSuccessful || values[0] is Name { Id: "repeat" });

    // "repeat" expr "{" chain "}" | "residual" "{" chain "}"   (a "layers" stage; may go on with "-> step")
    private static readonly Parser<Stmt> LayersStmt =
        from body in ChainFrom(Ref(() => RepeatStep).XOr(Ref(() => ResidualStep)))
        select (Stmt)new StageStmt("layers", body, body.Span);

    // "train" "{" { ident ":" expr [ "," ] } "}"
    private static readonly Parser<TrainEntry> TrainEntry =
        from key in Word
        from colon in Sym(":").Expect(DslCodes.ExpectedToken, [$"':' after train key '{key.Value}'"], "train entries are written 'key: value'")
        from value in Expr.Expect(DslCodes.ExpectedExpression, [$"a value for '{key.Value}'"])
        from comma in Opt(Sym(","))
        select new TrainEntry(key.Value, value, key.Span, key.Span.To(value.Span));

    private static readonly Parser<Stmt> TrainStmt =
        from kw in Kw("train")
        from open in Sym("{").Expect(DslCodes.ExpectedToken, ["'{' after 'train'"], "e.g. 'train { data: fashion-mnist, epochs: 5 }'")
        from entries in Many(TrainEntry)
        from close in Sym("}").Expect(DslCodes.ExpectedClosingBracket, ["a 'key: value' entry or '}'", "'train'"])
        select (Stmt)new TrainStmt(entries, kw.Span.To(close.Span));

    // chain = step { "->" step } ;
    private static readonly Parser<Chain> Chain = ChainFrom(Ref(() => Step));

    /// <summary><c>first { "->" step }</c>.</summary>
    private static Parser<Chain> ChainFrom(Parser<Step> first)
    {
        var next = Ref(() => Step).Expect(DslCodes.ExpectedStep, ["an op after '->'"],
            "a chain is 'op -> op -> …'; a step is an op, 'residual { … }' or 'repeat n { … }'");
        var more = Many(from arrow in Sym("->") from s in next select s);
        return
            from head in first
            from rest in more
            select new Chain(Prepend(head, rest), rest.Count == 0 ? head.Span : head.Span.To(rest[^1].Span));
    }

    // step = "residual" "{" chain "}" | "repeat" expr "{" chain "}" | ident [ "(" args ")" ] ;
    private static readonly Parser<Step> Step = Ref(() => ResidualStep).XOr(Ref(() => RepeatStep)).XOr(Ref(() => OpStep));

    // "residual" [ "(" ident ")" ] "{" chain "}": the ident says how the body's output meets the input (add, sub, mul).
    private static readonly Parser<Step> ResidualStep =
        from kw in Kw("residual")
        from combine in Opt(ResidualCombine)
        from body in ResidualBody
        select (Step)new ResidualStep(body.Chain, kw.Span.To(body.Close), combine?.Value ?? "add", combine?.Span);

    private static readonly Parser<Tok<string>> ResidualCombine =
        from open in Sym("(")
        from word in Word.Expect(DslCodes.ExpectedName, ["how the residual combines (add, sub, mul or gate) after 'residual('"], "e.g. 'residual(sub) { avg_pool(3) }'")
        from close in Sym(")").Expect(DslCodes.ExpectedClosingBracket, ["')'", "'residual('"])
        select word;

    private static readonly Parser<BodyAndClose> ResidualBody = Body("'residual'", "'residual {'", hintOpen: "a residual is written 'residual { chain }'");

    private static readonly Parser<Step> RepeatStep =
        from kw in Kw("repeat")
        from count in RepeatCount
        from body in RepeatBody
        select (Step)new RepeatStep(count, body.Chain, kw.Span.To(body.Close));

    private static readonly Parser<Expr> RepeatCount = Ref(() => Expr).Expect(DslCodes.ExpectedExpression, ["a repeat count after 'repeat'"],
        "e.g. 'repeat 2 { linear(dim) -> gelu }'");
    private static readonly Parser<BodyAndClose> RepeatBody = Body("the repeat count", "'repeat'");

    private static readonly Parser<Step> OpStep =
        from id in OpName
        from args in CallArgs(id.Value)
        select (Step)new OpStep(id.Value, args?.Args ?? [], args is not null, id.Span, args is { } a ? id.Span.To(a.Close) : id.Span);

    /// <summary><c>"{" chain "}"</c> of a residual or repeat step, nested under the depth guard.</summary>
    private static Parser<BodyAndClose> Body(string after, string owner, string? hintOpen = null)
    {
        var chain = Nest(Ref(() => Chain).Expect(DslCodes.ExpectedStep, [$"an op inside {owner} {{ }}"]));
        var close = Sym("}").Expect(DslCodes.ExpectedClosingBracket, ["'->' or '}'", $"{owner} {{ … }}"]);
        return
            from open in Sym("{").Expect(DslCodes.ExpectedToken, [$"'{{' after {after}"], hintOpen)
            from body in chain
            from c in close
            select new BodyAndClose(body, c.Span);
    }

    // args = [ arg { "," arg } ] ;   arg = [ ident ":" ] expr ;   (the "ident :" prefix is the grammar's one two-token lookahead)
    private static readonly Parser<Arg> Arg =
        from name in (from n in Word from colon in Sym(":") select n).Optional()
        from value in name.IsDefined ? NamedValue(name.Get().Value) : Expr
        select new Arg(name.IsDefined ? name.Get().Value : null, value, name.IsDefined ? name.Get().Span.To(value.Span) : value.Span);

    private static readonly Parser<List<Arg>> MoreArgs =
        Many(from comma in Sym(",") from a in Arg.Expect(DslCodes.ExpectedExpression, ["an argument after ','"]) select a);

    private static readonly Parser<List<Arg>> Args = OptRef(
            from first in Arg
            from rest in MoreArgs
            select Prepend(first, rest))
        .Select(l => l ?? []);

    private static readonly BoundedCache<Parser<Expr>> NamedValues = new(name =>
        Ref(() => Expr).Expect(DslCodes.ExpectedExpression, [$"a value after '{name}:'"]));

    /// <summary>The value of a named argument <c>name: value</c>.</summary>
    private static Parser<Expr> NamedValue(string name) => NamedValues.Get(name);

    private static readonly BoundedCache<Parser<ArgsAndClose?>> CallArgsOf = new(callee => Opt(
        from open in Sym("(")
        from args in Nest(Args)
        from close in Sym(")").Expect(DslCodes.ExpectedClosingBracket, ["')'", $"the argument list of '{callee}'"], "arguments are separated by ','")
        select new ArgsAndClose(args, close.Span)));

    /// <summary><c>[ "(" args ")" ]</c> after the name of a call or op <paramref name="callee"/>.</summary>
    private static Parser<ArgsAndClose?> CallArgs(string callee) => CallArgsOf.Get(callee);

    // expr = term { ("+"|"-") term } ;
    public static readonly Parser<Expr> Expr = BinaryChain(Ref(() => Term), Sym("+", "-"));

    // term = unary { ("*"|"/"|"%") unary } ;
    private static readonly Parser<Expr> Term = BinaryChain(Ref(() => Unary), Sym("*", "/", "%"));

    /// <summary>Operands joined left-associatively by operators (Sprache's <c>ChainOperator</c>, with the operand after an
    /// operator required and at most <see cref="MaxOperators"/> operators).</summary>
    private static Parser<Expr> BinaryChain(Parser<Expr> operand, Parser<Tok<string>> op)
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

    // unary = "-" unary | atom ;
    private static readonly Parser<Expr> Negated = Nest(Ref(() => Unary).Expect(DslCodes.ExpectedExpression, ["an expression after '-'"]));

    private static readonly Parser<Expr> Unary =
        (from minus in Sym("-")
         from operand in Negated
         select (Expr)new Negate(operand, minus.Span.To(operand.Span)))
        .XOr(Ref(() => Atom));

    // atom = number | string | "[" [ expr { "," expr } ] "]" | ident [ "(" args ")" ] | "(" expr ")" ;
    private static readonly Parser<Expr> Atom = Number.XOr(Str).XOr(Ref(() => ListLit)).XOr(Ref(() => NameOrCall)).XOr(Ref(() => Paren));

    private static readonly Parser<List<Expr>> ListItems = Nest(OptRef(ExprList("the list")).Select(l => l ?? []));

    private static readonly Parser<Expr> ListLit =
        from open in Sym("[")
        from items in ListItems
        from close in Sym("]").Expect(DslCodes.ExpectedClosingBracket, ["']'", "the list"], "list items are separated by ','")
        select (Expr)new ListExpr(items, open.Span.To(close.Span));

    private static readonly Parser<Expr> NameOrCall =
        from id in Word
        from args in CallArgs(id.Value)
        select args is { } a ? (Expr)new CallExpr(id.Value, a.Args, id.Span, id.Span.To(a.Close)) : new Name(id.Value, id.Span);

    private static readonly Parser<Expr> ParenInner = Nest(Ref(() => Expr).Expect(DslCodes.ExpectedExpression, ["an expression after '('"]));

    private static readonly Parser<Expr> Paren =
        from open in Sym("(")
        from inner in ParenInner
        from close in Sym(")").ExpectLabelled(DslCodes.ExpectedClosingBracket, ["')'", "'('"], null, open.Span, "this '(' is never closed")
        select inner with { Span = open.Span.To(close.Span) };

    /// <summary><c>expr { "," expr }</c>, each item after a comma required.</summary>
    private static Parser<List<Expr>> ExprList(string what)
    {
        var item = Ref(() => Expr).Expect(DslCodes.ExpectedExpression, [$"an expression after ',' in {what}"]);
        var more = Many(from comma in Sym(",") from e in item select e);
        return
            from first in Ref(() => Expr)
            from rest in more
            select Prepend(first, rest);
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    private static Parser<T> Nest<T>(Parser<T> p) => Kit.Nest(p, MaxDepth);

    private static List<T> Prepend<T>(T first, List<T> rest)
    {
        rest.Insert(0, first);
        return rest;
    }

    private readonly record struct ArgsAndClose(List<Arg> Args, Span Close);
    private readonly record struct ParamsAndClose(List<ParamDecl> Params, Span Close);
    private readonly record struct BodyAndClose(Chain Chain, Span Close);
    private readonly record struct Boxed(Expr Value);
}

/// <summary>What <c>arch Name(params)</c> or <c>arch Name = Base(args)</c> parsed to, before its statements.</summary>
internal sealed record ArchHeader(Tok<string> Keyword, Tok<string> Name, List<ParamDecl> Params, ArchBase? Base, Span End);
