"""Model files saved with ``torch.export`` (``.pt2``): checked, loaded, their products lifted.

``torch.export`` inlines a model's layers: the saved graph holds ``aten.linear``,
``aten.conv2d``, ``aten.addmm`` ... calls on parameters, not ``nn.Linear`` modules, so
:func:`~cimspice.torch.convert` would find nothing to map. :func:`lift_products` rewrites the
graph (``torch.fx``): every ``linear``, ``conv1d``/``conv2d``/``convolution`` (not
transposed), ``addmm`` and ``mm`` whose matrix is a constant of the program (a parameter,
buffer or constant, possibly transposed or sliced) becomes a call into an ``nn.Linear``,
``nn.Conv1d`` or ``nn.Conv2d`` holding that matrix, which :func:`convert` then puts on tiles
like any other. Everything else (batch norm, activations, residual adds, attention scores,
softmax, pooling) stays digital, in the graph as exported; a product with a non-constant matrix
(e.g. attention's ``q @ k``) stays digital too and is listed in :attr:`ExportedModel.digital`.

What is trusted. PyTorch documents ``torch.export.load`` as unsafe on untrusted files: a
``.pt2`` archive may hold pickled weights or objects, compiled (AOTInductor) code, guard code
that ``ExportedProgram.module()`` executes, and symbolic expressions parsed by sympy (which
evaluates them). Before PyTorch reads anything, :func:`check_archive` reads the archive as
plain zip and JSON and refuses: pickled weights or constants, custom and opaque objects,
compiled code, TorchScript and ``torch.save`` pickles, graph calls to anything but PyTorch's
own ``aten`` operators (less those that read or write files: ``from_file``, ``save``) and a few
arithmetic helpers, and symbolic expressions that are more than names, numbers and arithmetic.
The load then runs with ``torch.load`` forced to ``weights_only`` and without the guard code.
These checks close the ways of running code that this version of PyTorch has (2.13); they are
a second line, not a sandbox: load ``.pt2`` files from sources you would run code from.
TorchScript files (``torch.jit.save``) are refused: ``torch.jit.load`` runs the file's code and
unpickles its constants, and the layers it holds are inlined into its graph as well; export
the model with ``torch.export`` instead.
"""

from __future__ import annotations

import io
import json
import os
import re
import tokenize
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn

from cimspice.errors import ModelError

__all__ = [
    "TRUST",
    "ExportedModel",
    "FixedBatch",
    "check_archive",
    "lift_products",
    "load_exported",
]

TRUST = (
    "load .pt2 files only from sources you would run code from (PyTorch's torch.export.load "
    "is not safe on untrusted files; cimspice refuses the parts of the format known to run "
    "code, but its checks are not a sandbox)"
)
"""What a user must trust about a ``.pt2`` file (repeated in refusals)."""

_ATEN = re.compile(r"torch\.ops\.aten\.(\w+)\.(\w+)")
_FILE_OPS = frozenset({"from_file", "save", "_print", "load"})
"""``aten`` operators that read, write or print to files: refused."""
_OPERATORS = frozenset(
    "getitem add sub mul truediv floordiv mod pow neg pos abs eq ne lt le gt ge and_ or_ "
    "xor not_ invert lshift rshift".split()
)
_SYMPY_NAMES = frozenset(
    "Symbol Dummy Integer Rational Float Add Mul Pow Mod Abs Max Min Eq Ne Lt Le Gt Ge And Or "
    "Not Piecewise ExprCondPair BooleanTrue BooleanFalse True False None FloorDiv CeilDiv "
    "CleanDiv CeilToInt FloorToInt PythonMod IntTrueDiv FloatTrueDiv ToFloat TruncToInt "
    "TruncToFloat RoundToInt RoundDecimal Identity PowByNatural FloatPow LShift RShift "
    "IsNonOverlappingAndDenseIndicator Where floor ceiling sqrt oo zoo nan pi".split()
)
"""The names a symbolic expression may call or hold: sympy's and PyTorch's arithmetic
classes (as ``srepr`` writes them). Not ``S``, ``N``, ``sympify`` or ``Function``: they
evaluate a string."""
_SYMPY_FAMILIES = re.compile(r"(OpaqueUnaryFn|BitwiseFn)_[a-z][a-z_]*[a-z]")
_ASSUMPTIONS = frozenset(
    "positive negative nonnegative nonpositive integer real finite nonzero zero precision "
    "evaluate".split()
)
"""Keyword arguments a symbolic expression may pass (assumptions, a float's precision)."""
_LITERAL_TAKERS = frozenset({"Symbol", "Dummy", "Float", "Integer", "Rational"})
"""The classes whose first argument may be a string literal (a name or a number)."""
_LITERAL = re.compile(r"""(['"])[\w.+\-]*\1""")
_MAX_JSON = 256 * 2**20
"""Largest graph description (bytes of JSON) read; a larger one is refused."""


def _refuse(path: Path, why: str) -> ModelError:
    return ModelError(f"{path}: {why}; {TRUST}")


def _names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Archive members by their path under the archive's root folder."""
    names = {}
    for name in archive.namelist():
        _, _, inner = name.partition("/")
        names[inner or name] = name
    return names


def _check_targets(graph: dict[str, Any], path: Path) -> None:
    """Refuse graph calls to anything but ``aten`` operators and arithmetic helpers."""
    values = graph.get("custom_obj_values") or {}
    if values:
        raise _refuse(path, f"the graph holds custom objects ({', '.join(sorted(values))})")
    for node in graph.get("nodes", []):
        target = str(node.get("target", ""))
        match = _ATEN.fullmatch(target)
        if match:
            if match.group(1) in _FILE_OPS:
                raise _refuse(path, f"the graph calls {target}, which reads or writes files")
            continue
        module, _, name = target.partition(".")
        ok = (
            (module == "_operator" and name in _OPERATORS)
            or (module == "math" and re.fullmatch(r"[a-z]\w*", name) is not None)
            or (module == "torch" and re.fullmatch(r"_?sym_\w+", name) is not None)
        )
        if not ok:
            raise _refuse(
                path,
                f"the graph calls {target!r}; only PyTorch's aten operators and arithmetic are "
                "accepted (custom operators, control flow and Python functions are not)",
            )


def _check_expression(text: str, path: Path) -> None:
    """Refuse a symbolic expression that is more than names, numbers and arithmetic (sympy
    evaluates these strings as Python)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        raise _refuse(path, f"a symbolic expression does not parse: {text[:80]!r}") from None
    for i, token in enumerate(tokens):
        kind, string = token.type, token.string
        before = [t.string for t in tokens[max(0, i - 2) : i]]
        following = tokens[i + 1].string if i + 1 < len(tokens) else ""
        if kind in (tokenize.NUMBER, tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            continue
        if (
            kind == tokenize.STRING
            and _LITERAL.fullmatch(string)
            and len(before) == 2
            and before[0] in _LITERAL_TAKERS
            and before[1] == "("
        ):
            continue
        if kind == tokenize.OP and string not in {".", "[", "]", "{", "}", ":", ":=", "@", ";"}:
            continue
        if kind == tokenize.NAME and (
            string in _SYMPY_NAMES
            or _SYMPY_FAMILIES.fullmatch(string)
            or re.fullmatch(r"[a-z]{1,4}\d+", string)
            or (string in _ASSUMPTIONS and following == "=")
        ):
            continue
        raise _refuse(
            path, f"a symbolic expression holds {string!r}, which is not arithmetic: {text[:80]!r}"
        )


def _expressions(value: Any) -> Iterator[str]:
    """Every ``expr_str`` in a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "expr_str" and isinstance(item, str):
                yield item
            else:
                yield from _expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _expressions(item)


def _check_payloads(archive: zipfile.ZipFile, names: dict[str, str], path: Path) -> None:
    """Refuse pickled weights and constants, custom and opaque objects."""
    for kind in ("weights", "constants"):
        for inner, name in names.items():
            if not (inner.startswith(f"data/{kind}/") and inner.endswith("_config.json")):
                continue
            config = json.loads(archive.read(name)).get("config", {})
            for fqn, meta in config.items():
                file = str(meta.get("path_name", ""))
                if meta.get("use_pickle"):
                    raise _refuse(path, f"its {kind[:-1]} {fqn!r} is pickled (refused)")
                if file.startswith(("custom_obj_", "opaque_obj_")):
                    raise _refuse(path, f"its constant {fqn!r} is a pickled object (refused)")
        if f"data/{kind}/model.pt" in names:
            raise _refuse(path, f"its {kind} are in the older pickled format (refused)")


def check_archive(path: str | os.PathLike[str]) -> None:
    """Refuse a ``.pt2`` file that holds any part known to run code on loading (see the
    module); read as zip and JSON only, before PyTorch reads it.

    Raises:
        ModelError: the file is missing, not a ``torch.export`` archive (a TorchScript file or
            a ``torch.save`` pickle is named as such), or holds a refused part (named).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"{path}: model file not found" if not path.exists() else f"{path}: not a regular file"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = _names(archive)
            if "code/" in {n[:5] for n in names} or "constants.pkl" in names:
                raise ModelError(
                    f"{path}: a TorchScript file (torch.jit.save); cimspice does not load "
                    "TorchScript (torch.jit.load runs the file's code and unpickles its "
                    "constants, and its graph inlines the layers): save the model with "
                    "torch.export.save(torch.export.export(model, (example,)), 'model.pt2')"
                )
            if "data.pkl" in names:
                raise ModelError(
                    f"{path}: a torch.save pickle (a model or state_dict); cimspice never "
                    "unpickles model files: save the model with torch.export.save"
                )
            if "archive_format" not in names or "models/model.json" not in names:
                raise ModelError(
                    f"{path}: not a torch.export archive (.pt2: no archive_format or "
                    "models/model.json in it)"
                )
            for refused in ("data/aotinductor/", "data/executorch/", "data/mtia"):
                if any(n.startswith(refused) for n in names):
                    raise _refuse(path, f"it holds compiled code ({refused}; refused)")
            models = [n for n in names if n.startswith("models/") and n.endswith(".json")]
            if models != ["models/model.json"]:
                raise ModelError(
                    f"{path}: holds several programs ({', '.join(models)}); save one model"
                )
            info = archive.getinfo(names["models/model.json"])
            if info.file_size > _MAX_JSON:
                raise ModelError(
                    f"{path}: its graph description is {info.file_size} bytes "
                    f"(more than {_MAX_JSON})"
                )
            program = json.loads(archive.read(info))
            _check_payloads(archive, names, path)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as err:
        if isinstance(err, ModelError):
            raise
        raise ModelError(
            f"{path}: not a readable torch.export file (.pt2, a zip archive): {err}"
        ) from None
    graph = program.get("graph_module", {}).get("graph", {})
    _check_targets(graph, path)
    for text in _expressions(program):
        _check_expression(text, path)
    for symbol in program.get("range_constraints", {}):
        _check_expression(str(symbol), path)


@contextmanager
def _weights_only() -> Iterator[None]:
    """Every ``torch.load`` inside loads tensors only (``TORCH_FORCE_WEIGHTS_ONLY_LOAD``):
    ``torch.export.load`` falls back to a full unpickling when a safe load fails."""
    key = "TORCH_FORCE_WEIGHTS_ONLY_LOAD"
    before = os.environ.get(key)
    os.environ[key] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ[key]
        else:
            os.environ[key] = before


@dataclass
class ExportedModel:
    """A ``.pt2`` model, loaded and lifted.

    Attributes:
        module: the graph module (eval mode), every constant-matrix product a call into an
            ``nn.Linear`` / ``nn.Conv1d`` / ``nn.Conv2d`` (see :func:`lift_products`); inside
            a :class:`FixedBatch` when the program was exported with a fixed batch size.
        sample_shape: the shape of one input sample (the exported input without its batch
            dimension).
        batch: the exported batch size when it is fixed, ``None`` when it is dynamic.
        dtype: the input's dtype.
        outputs: the size of the output's last dimension (the class scores).
        lifted: the lifted products, one line each.
        digital: products left digital (their matrix is not a constant), one line each.
    """

    module: nn.Module
    sample_shape: tuple[int, ...]
    batch: int | None
    dtype: torch.dtype
    outputs: int
    lifted: list[str]
    digital: list[str]


def load_exported(path: str | os.PathLike[str]) -> ExportedModel:
    """Check (:func:`check_archive`), load and lift (:func:`lift_products`) a ``.pt2`` file.

    Raises:
        ModelError: see :func:`check_archive`; or the program does not take one tensor (its
            batch first, every other dimension fixed) and return one tensor of class scores.
    """
    path = Path(path)
    check_archive(path)
    try:
        with _weights_only():
            program = torch.export.load(path)
    except Exception as err:  # PyTorch raises many kinds on a bad archive
        raise ModelError(f"{path}: torch.export.load failed: {type(err).__name__}: {err}") from None
    inputs = [s for s in program.graph_signature.input_specs if s.kind.name == "USER_INPUT"]
    outputs = [s for s in program.graph_signature.output_specs if s.kind.name == "USER_OUTPUT"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(
            f"{path}: the program takes {len(inputs)} input(s) and returns {len(outputs)} "
            "output(s); evaluate needs one input tensor (a batch of samples) and one output "
            "(class scores)"
        )
    values = {n.name: n.meta.get("val") for n in program.graph.nodes}
    example = values.get(getattr(inputs[0].arg, "name", ""))
    scores = values.get(getattr(outputs[0].arg, "name", ""))
    if not isinstance(example, torch.Tensor) or example.dim() < 2:
        raise ModelError(
            f"{path}: the input must be a batch of samples (a tensor of >= 2 "
            f"dimensions), got {example!r}"
        )
    if not isinstance(scores, torch.Tensor) or scores.dim() != 2:
        raise ModelError(
            f"{path}: the output must be class scores of shape (batch, classes), "
            f"got {None if scores is None else tuple(scores.shape)}"
        )
    sample = tuple(example.shape[1:])
    if not all(isinstance(d, int) for d in (*sample, scores.shape[1])):
        raise ModelError(
            f"{path}: only the batch dimension may be dynamic; the input's sample shape is "
            f"{sample} and the output's {tuple(scores.shape)}"
        )
    first = example.shape[0]
    unlifted = program.module(check_guards=False)  # the guard code would be executed: never
    # a plain GraphModule of the same graph: the exported one refuses .train() and .eval()
    # (its graph is fixed in the mode it was exported in, e.g. batch norm's statistics)
    module = fx.GraphModule(unlifted, unlifted.graph)
    module.eval()
    _plain_signature(module, path)
    _check_inference_mode(module, path)
    lifted, digital = lift_products(module)
    batch = int(first) if isinstance(first, int) else None
    return ExportedModel(
        module if batch is None else FixedBatch(module, batch).eval(),
        tuple(int(d) for d in sample),
        batch,
        example.dtype,
        int(scores.shape[1]),
        lifted,
        digital,
    )


class FixedBatch(nn.Module):
    """A program exported with a fixed batch size, taking any number of samples: the inputs
    run in chunks of that size, the last one filled up with copies of its last sample (which
    change no input range) and the extra outputs dropped."""

    def __init__(self, module: nn.Module, batch: int):
        super().__init__()
        self.module = module
        self.batch = batch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The program's outputs for every sample of ``x``."""
        parts = []
        for start in range(0, len(x), self.batch):
            chunk = x[start : start + self.batch]
            short = self.batch - len(chunk)
            if short:
                chunk = torch.cat([chunk, chunk[-1:].expand(short, *chunk.shape[1:])])
            parts.append(self.module(chunk)[: self.batch - short])
        return torch.cat(parts)

    def extra_repr(self) -> str:
        """The batch size."""
        return f"batch={self.batch}"


def _plain_signature(module: fx.GraphModule, path: Path) -> None:
    """Make ``module`` take its one tensor and return its one tensor directly (no pytree
    flattening, whose specs PyTorch deprecates on copy)."""
    graph = module.graph
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise ModelError(f"{path}: the program's graph takes {len(placeholders)} inputs, not 1")
    graph.set_codegen(fx.graph.CodeGen())
    for spec in ("_in_spec", "_out_spec"):  # copied from the exported module; unused now
        module.__dict__.pop(spec, None)
    output = next(n for n in graph.nodes if n.op == "output")
    values = output.args[0]
    if isinstance(values, list | tuple):
        if len(values) != 1:
            raise ModelError(f"{path}: the program's graph returns {len(values)} values, not 1")
        output.args = (values[0],)
    module.recompile()


_TRAINING_FLAGS = {"batch_norm": 5, "dropout": 2, "feature_dropout": 2, "alpha_dropout": 2}
"""``aten`` operators whose behaviour an export in training mode fixes, and the position of
their training flag."""


def _check_inference_mode(module: fx.GraphModule, path: Path) -> None:
    """Refuse a program exported in training mode: its graph fixes batch norm on each batch's
    own statistics and dropout on, which an evaluation would silently inherit."""
    for node in module.graph.nodes:
        if node.op != "call_function" or not isinstance(node.target, torch._ops.OpOverload):
            continue
        name = node.target._schema.name.removeprefix("aten::")
        flag = _TRAINING_FLAGS.get(name)
        training = flag is not None and len(node.args) > flag and node.args[flag] is True
        if training or name.startswith("_native_batch_norm_legit_functional"):
            raise ModelError(
                f"{path}: exported in training mode ({node.name}: {name} with training on: "
                "batch norm on each batch's statistics, or dropout); export model.eval()"
            )


# ----- the graph rewrite -----

_aten = torch.ops.aten
_LINEAR = {_aten.linear.default}
_CONVOLUTIONS = {
    _aten.conv1d.default,
    _aten.conv2d.default,
    _aten.conv1d.padding,
    _aten.conv2d.padding,
    _aten.convolution.default,
}
_MATMULS = {_aten.addmm.default, _aten.mm.default, _aten.matmul.default}
_BATCHED = {_aten.bmm.default}


def _attribute(module: nn.Module, target: str) -> Any:
    value: Any = module
    for part in target.split("."):
        value = getattr(value, part)
    return value


def _constant(  # noqa: PLR0911 (one early exit per kind of node)
    module: fx.GraphModule, value: Any, depth: int = 0
) -> torch.Tensor | None:
    """The tensor a node computes when it depends on the program's constants only (a
    parameter, buffer or constant, possibly transposed, sliced, reshaped), else ``None``."""
    if not isinstance(value, fx.Node) or depth > 16:
        return None
    if value.op == "get_attr":
        tensor = _attribute(module, str(value.target))
        return tensor if isinstance(tensor, torch.Tensor) else None
    if value.op != "call_function" or not isinstance(value.target, torch._ops.OpOverload):
        return None
    args: list[Any] = []
    for arg in value.args:
        if isinstance(arg, fx.Node):
            tensor = _constant(module, arg, depth + 1)
            if tensor is None:
                return None
            args.append(tensor)
        elif isinstance(arg, list | tuple) and any(isinstance(a, fx.Node) for a in arg):
            return None
        else:
            args.append(arg)
    if any(isinstance(v, fx.Node) for v in value.kwargs.values()):
        return None
    with torch.no_grad():
        result = value.target(*args, **value.kwargs)
    return result if isinstance(result, torch.Tensor) else None


def _parameter(tensor: torch.Tensor) -> nn.Parameter:
    """``tensor`` itself when it is a parameter (shared with the program), else a copy."""
    if isinstance(tensor, nn.Parameter):
        return tensor
    return nn.Parameter(tensor.detach().clone(), requires_grad=False)


def _pair(value: Any, dims: int) -> Any:
    """``value`` (an int or a list) as a tuple of ``dims`` ints (torch's layers' argument)."""
    values = tuple(value) if isinstance(value, list | tuple) else (value,)
    return values * dims if len(values) == 1 else values


def _layer(  # noqa: PLR0911 (one reason per way a product stays digital)
    module: fx.GraphModule, node: fx.Node
) -> tuple[nn.Module, fx.Node] | str:
    """The module that computes ``node`` and its input node, or why it stays digital."""
    normalized = node.normalized_arguments(module, normalize_to_only_use_kwargs=True)
    if normalized is None:
        return "its arguments could not be read"
    kw = normalized.kwargs
    target = node.target
    if target in _MATMULS:
        # addmm(bias, x, matrix, *, beta, alpha), mm/matmul(x, matrix): torch.fx names ``self``
        # differently across versions, so by position
        *first, x, mat2 = node.args
        matrix = _constant(module, mat2)
        bias = None
        if first:
            bias = _constant(module, first[0])
            if bias is None or kw.get("beta", 1) != 1 or kw.get("alpha", 1) != 1:
                return "its added term is not a constant bias (or beta, alpha are not 1)"
        if matrix is None or matrix.dim() != 2:
            return "its matrix is not a constant 2-d matrix of the program"
        if bias is not None and bias.shape not in {(matrix.shape[1],), (1, matrix.shape[1])}:
            return f"its bias has shape {tuple(bias.shape)}, not ({matrix.shape[1]},)"
        weight, bias_node = matrix.T, bias
    else:
        constant = _constant(module, kw["weight"])
        x = kw["input"]
        bias_node = None
        if constant is None:
            return "its weight is not a constant of the program"
        weight = constant
        if kw.get("bias") is not None:
            bias_node = _constant(module, kw["bias"])
            if bias_node is None:
                return "its bias is not a constant of the program"
    if not isinstance(x, fx.Node):
        return "its input is not a tensor of the graph"
    bias_tensor = None if bias_node is None else bias_node.reshape(-1)
    if target in _LINEAR or target in _MATMULS:
        if weight.dim() != 2:
            return f"its weight has shape {tuple(weight.shape)}, not (out, in)"
        layer: nn.Module = nn.Linear(weight.shape[1], weight.shape[0], bias=bias_tensor is not None)
    else:
        dims = weight.dim() - 2
        if kw.get("transposed", False):
            return "it is a transposed convolution"
        if dims not in (1, 2):
            return f"it is a {dims}-d convolution (tiles take 1-d and 2-d ones)"
        args = (kw.get("stride", 1), kw.get("padding", 0), kw.get("dilation", 1))
        if any(
            isinstance(a, fx.Node)
            or (isinstance(a, list | tuple) and any(not isinstance(v, int) for v in a))
            for a in args
        ):
            return "its stride, padding or dilation is not fixed"
        stride, padding, dilation = args
        groups = int(kw.get("groups", 1))
        kind = nn.Conv1d if dims == 1 else nn.Conv2d
        layer = kind(
            weight.shape[1] * groups,
            weight.shape[0],
            _pair(list(weight.shape[2:]), dims),
            stride=_pair(stride, dims),
            padding=padding if isinstance(padding, str) else _pair(padding, dims),
            dilation=_pair(dilation, dims),
            groups=groups,
            bias=bias_tensor is not None,
        )
    layer.weight = _parameter(weight)
    if bias_tensor is not None:
        layer.bias = _parameter(bias_tensor)
    layer.to(weight.dtype)
    return layer, x


def lift_products(module: fx.GraphModule) -> tuple[list[str], list[str]]:
    """Rewrite ``module``'s graph in place: every ``linear``, ``conv1d``/``conv2d``/
    ``convolution``, ``addmm`` and ``mm`` whose matrix is a constant of the program becomes a
    call into an ``nn.Linear`` / ``nn.Conv1d`` / ``nn.Conv2d`` submodule (``tile_<k>``)
    holding it (the program's parameter itself when the matrix is one, else a copy).

    Returns:
        ``(lifted, digital)``: one line per lifted product and per product left digital
        (with the reason).
    """
    lifted, digital = [], []
    count = 0
    for node in list(module.graph.nodes):
        if node.op != "call_function":
            continue
        where = f"{node.name} ({node.target})"
        if node.target in _BATCHED:
            if any(_constant(module, a) is not None for a in node.args):
                digital.append(
                    f"{where}: a batched product with a constant operand (export without "
                    "run_decompositions() to keep it a linear layer)"
                )
            continue
        if node.target not in _LINEAR | _CONVOLUTIONS | _MATMULS:
            continue
        found = _layer(module, node)
        if isinstance(found, str):
            digital.append(f"{where}: {found}")
            continue
        layer, x = found
        name = f"tile_{count}"
        count += 1
        module.add_submodule(name, layer)
        with module.graph.inserting_before(node):
            call = module.graph.call_module(name, (x,))
        call.meta = dict(node.meta)
        node.replace_all_uses_with(call)
        module.graph.erase_node(node)
        lifted.append(f"{where} -> {name}: {layer}")
    _drop_unused_constants(module)
    module.recompile()
    return lifted, digital


def _drop_unused_constants(module: fx.GraphModule) -> None:
    """Erase constant-only nodes (``get_attr`` and what is computed from them alone) that no
    longer have users."""
    changed = True
    while changed:
        changed = False
        for node in reversed(list(module.graph.nodes)):
            if node.users or node.op not in ("get_attr", "call_function"):
                continue
            if node.op == "call_function" and _constant(module, node) is None:
                continue
            module.graph.erase_node(node)
            changed = True
