namespace ArchDsl.Dsl;

// The syntax tree of a spec file. Every node carries the span it was parsed from; nothing here knows
// what an op means (that is the compiler's business). The grammar that builds it is in Grammar.cs.
//
//   file      = { import | block | arch } ;
//   import    = "import" string ;
//   block     = "block" ident [ "(" params ")" ] "{" chain "}" ;
//   arch      = "arch" ident ( "(" params ")" | "=" ident "(" args ")" ) { stmt } ;
//   params    = [ param { "," param } ] ;          param = ident [ "=" expr ] ;
//   stmt      = "input" ident "[" expr { "," expr } "]"
//             | ( "stem" | "head" | "layers" ) chain
//             | "mixer" "*" expr "{" { ident ":" ( chain | expr { "," expr } ) } "}"
//             | "repeat" expr "{" chain "}" | "residual" [ "(" ident ")" ] "{" chain "}"
//             | "train" "{" { ident ":" expr [ "," ] } "}" ;
//   chain     = step { "->" step } ;
//   step      = "residual" [ "(" ident ")" ] "{" chain "}" | "repeat" expr "{" chain "}" | ident [ "(" args ")" ] ;
//   args      = [ arg { "," arg } ] ;                arg = [ ident ":" ] expr ;
//   expr      = term { ("+"|"-") term } ;  term = unary { ("*"|"/"|"%") unary } ;
//   unary     = "-" unary | atom ;
//   atom      = number | string | "[" [ expr { "," expr } ] "]" | ident [ "(" args ")" ] | "(" expr ")" ;

public abstract record Node(Span Span);

// ---- expressions: parameter defaults, arguments, train values -------------------------------------

public abstract record Expr(Span Span) : Node(Span);

public sealed record IntLit(long Value, Span Span) : Expr(Span);

public sealed record FloatLit(double Value, Span Span) : Expr(Span);

public sealed record StringLit(string Value, Span Span) : Expr(Span);

/// <summary>A bare word: a parameter, an op (<c>gelu</c>), or an enum-like value (<c>same</c>, <c>token</c>, <c>true</c>).</summary>
public sealed record Name(string Id, Span Span) : Expr(Span);

/// <summary><c>a + b</c>, <c>dim * 4</c>, <c>dim / heads</c>; Op is one of + - * / %.</summary>
public sealed record Binary(Expr Left, string Op, Expr Right, Span Span) : Expr(Span);

public sealed record Negate(Expr Operand, Span Span) : Expr(Span);

/// <summary><c>adamw(lr: 0.01)</c>, <c>crop(pad: 2)</c> as a value.</summary>
public sealed record CallExpr(string Callee, IReadOnlyList<Arg> Args, Span CalleeSpan, Span Span) : Expr(Span);

public sealed record ListExpr(IReadOnlyList<Expr> Items, Span Span) : Expr(Span);

/// <summary>A positional (<c>Name == null</c>) or named (<c>kernel: 3</c>) argument.</summary>
public sealed record Arg(string? Name, Expr Value, Span Span) : Node(Span);

// ---- chains: the ops of a stem, head, block or mixer sub-layer, joined by "->" ------------------------

public abstract record Step(Span Span) : Node(Span);

/// <summary><c>conv(dim, kernel: 3)</c>, <c>gelu</c>, <c>act</c> (a parameter holding an op) or a user block call.
/// <c>HasParens</c> tells <c>gelu</c> from <c>gelu()</c>.</summary>
public sealed record OpStep(string Op, IReadOnlyList<Arg> Args, bool HasParens, Span NameSpan, Span Span) : Step(Span);

/// <summary><c>residual { chain }</c>: x + chain(x); <c>residual(sub) { chain }</c>: chain(x) − x (PoolFormer's <c>pool(x) − x</c>);
/// <c>residual(mul) { chain }</c>: x · chain(x) (a gate). <see cref="Combine"/> is the word written (checked by the compiler;
/// <c>add</c> when none), <see cref="CombineSpan"/> where.</summary>
public sealed record ResidualStep(Chain Body, Span Span, string Combine = "add", Span? CombineSpan = null) : Step(Span);

/// <summary><c>repeat n { chain }</c>.</summary>
public sealed record RepeatStep(Expr Count, Chain Body, Span Span) : Step(Span);

public sealed record Chain(IReadOnlyList<Step> Steps, Span Span) : Node(Span);

// ---- statements of an arch body -------------------------------------------------------------------

public abstract record Stmt(Span Span) : Node(Span);

/// <summary><c>input image[1, 28, 28]</c> or <c>input tokens[196, 768]</c>.</summary>
public sealed record InputStmt(string Layout, IReadOnlyList<Expr> Dims, Span LayoutSpan, Span Span) : Stmt(Span);

/// <summary><c>stem …</c>, <c>head …</c>, <c>layers …</c>; a top-level <c>repeat</c>/<c>residual</c> is a "layers" stage.</summary>
public sealed record StageStmt(string Kind, Chain Body, Span Span) : Stmt(Span);

/// <summary>One entry of a mixer: <c>token: chain</c> / <c>channel: chain</c> (Chain set) or
/// <c>norm: layer, pre</c> / <c>residual: token</c> / <c>drop_path: 0.1</c> (Values set).</summary>
public sealed record MixerEntry(string Key, Chain? Chain, IReadOnlyList<Expr> Values, Span KeySpan, Span Span) : Node(Span);

/// <summary><c>mixer * depth { token: … channel: … norm: … residual: … }</c>.</summary>
public sealed record MixerStmt(Expr Count, IReadOnlyList<MixerEntry> Entries, Span Span) : Stmt(Span);

public sealed record TrainEntry(string Key, Expr Value, Span KeySpan, Span Span) : Node(Span);

/// <summary><c>train { data: fashion-mnist, epochs: 5, optimizer: adamw(lr: 0.01) }</c>.</summary>
public sealed record TrainStmt(IReadOnlyList<TrainEntry> Entries, Span Span) : Stmt(Span);

// ---- declarations ----------------------------------------------------------------------------------

/// <summary><c>dim = 128</c> in an arch header (default required) or <c>hidden</c> in a block header (default optional).</summary>
public sealed record ParamDecl(string Name, Expr? Default, Span NameSpan, Span Span) : Node(Span);

/// <summary><c>block mlp(hidden, out = D) { linear(hidden) -> gelu -> linear(out) }</c>.</summary>
public sealed record BlockDecl(string Name, IReadOnlyList<ParamDecl> Params, Chain Body, Span NameSpan, Span Span) : Node(Span);

/// <summary><c>arch ViT_B16 = ViT(dim: 768, …)</c>: another arch with parameters overridden.</summary>
public sealed record ArchBase(string Name, IReadOnlyList<Arg> Args, Span NameSpan, Span Span) : Node(Span);

/// <summary><c>arch ConvMixer(dim = 128, …)</c> followed by its statements, or a derived arch
/// (<c>Base</c> set) whose statements, if any, replace the base's statements of the same kind.</summary>
public sealed record ArchDecl(string Name, IReadOnlyList<ParamDecl> Params, ArchBase? Base, IReadOnlyList<Stmt> Body, Span NameSpan, Span Span) : Node(Span);

public sealed record ImportDecl(string Path, Span Span) : Node(Span);

public sealed record SpecFile(SourceText Source, IReadOnlyList<ImportDecl> Imports, IReadOnlyList<BlockDecl> Blocks, IReadOnlyList<ArchDecl> Archs);
