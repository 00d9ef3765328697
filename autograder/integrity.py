"""Integrity flags: a static scan of a submission's source for code that reaches into the grader.

The sandbox is what keeps a submission from harming the grader; this scan only tells the
instructor where to look. It reads the module source that grading runs (a notebook after it
became a module) with `ast`, never runs it, and flags:

- imports outside an allow-list (`DEFAULT_ALLOWED_IMPORTS`, plus the assignment's
  `[integrity] allowed_imports`), aliases followed (`import os as o`, `from os import write
  as w`, `w = os.write`, `getattr(os, "wri" + "te")`, `__import__("os")`);
- frame and trace access, `gc` referrers, `ctypes` and other native code, raw descriptor
  writes, `/proc` paths, signals, processes, sockets, dynamic imports, `exec`/`eval`/
  `compile`, `marshal`, `pickle`, changes to builtins or to imported modules, dunder walks
  (`__subclasses__`, `__globals__`, ...), `sys.modules`, dynamic `getattr` on modules, and long
  encoded blobs.

A flag never changes a score. It is a hint for a human: it goes to the gradebook, to
`results.json`'s `extra_data` and to the report's "Review these" section, never to the student's
feedback. A scan never fails: a block with a syntax error is left out exactly as the sandbox's
loader leaves it out, and the size, the time and the number of flags are capped.
"""

from __future__ import annotations

import ast
import re
import time
from dataclasses import asdict, dataclass

MAX_SOURCE_CHARS = 1_000_000  # staging caps a .py at 1 MB; a notebook's module beyond this is scanned up to it
MAX_SECONDS = 10.0
MAX_FLAGS = 100
MAX_LINE_CHARS = 160
BLOB_RUN = 160  # characters of base64/hex alphabet in a row
BLOB_BYTES = 256  # a bytes literal or a list of ints this long
MAX_DEPTH = 60  # attribute chains followed when resolving a name

# Imports every assignment accepts: what the solutions and honest submissions use, and the
# standard library's harmless helpers. Modules whose every use is suspect are left out; a
# module allowed here can still be flagged for what is done with it (`os.write`, `sys._getframe`,
# `gc.get_referrers`, `torch.utils.cpp_extension`, ...).
DEFAULT_ALLOWED_IMPORTS: tuple[str, ...] = (
    "__future__",
    "torch",
    "safetensors",
    "numpy",
    "d2l",  # the book's own helper package: students of the course import it out of habit
    "math",
    "cmath",
    "numbers",
    "statistics",
    "random",
    "typing",
    "typing_extensions",
    "collections",
    "itertools",
    "functools",
    "operator",
    "dataclasses",
    "enum",
    "abc",
    "copy",
    "contextlib",
    "warnings",
    "string",
    "re",
    "json",
    "time",
    "io",
    "os",
    "sys",
    "gc",
    "pathlib",
    "tempfile",
    "heapq",
    "bisect",
    "fractions",
    "decimal",
    "textwrap",
    "pprint",
    "types",  # SimpleNamespace and friends; its FunctionType and CodeType are flagged
    "torchvision",  # the book's data sets and models
    "matplotlib",  # plots left in a notebook exported as a module
    "autograder.notebook_check",  # the check cells of the kit's own notebooks, exported with them
)
# Never suspect, though inside a flagged package: what the kit itself hands students.
_EXEMPT = ("autograder.notebook_check",)

# Kinds, as they appear in the gradebook and the report.
IMPORT = "import"
GRADER_IMPORT = "grader import"
FRAME = "frame access"
TRACE = "trace hook"
GC = "gc access"
CTYPES = "ctypes"
FD = "fd write"
PROC = "proc path"
GRADER_PATH = "grader path"
SIGNAL = "signal"
PROCESS = "process"
SOCKET = "socket"
DYNAMIC_IMPORT = "dynamic import"
EXEC = "exec/eval"
MARSHAL = "marshal"
PICKLE = "pickle"
BUILTINS = "builtins change"
MODULE_PATCH = "module patch"
DUNDER = "dunder walk"
SYS_MODULES = "sys.modules"
SYS_INTERNALS = "sys internals"
OS_CALL = "os call"
DYNAMIC_GETATTR = "dynamic getattr"
BLOB = "encoded blob"
TORCH_OVERRIDE = "torch override"
UNSCANNED = "not fully scanned"
KINDS = (
    IMPORT,
    GRADER_IMPORT,
    FRAME,
    TRACE,
    GC,
    CTYPES,
    FD,
    PROC,
    GRADER_PATH,
    SIGNAL,
    PROCESS,
    SOCKET,
    DYNAMIC_IMPORT,
    EXEC,
    MARSHAL,
    PICKLE,
    BUILTINS,
    MODULE_PATCH,
    DUNDER,
    SYS_MODULES,
    SYS_INTERNALS,
    OS_CALL,
    DYNAMIC_GETATTR,
    BLOB,
    TORCH_OVERRIDE,
    UNSCANNED,
)

# Qualified names (after aliases are resolved) and the kind each one is; a rule covers the
# name and everything below it ("subprocess" covers "subprocess.Popen").
_RULES: dict[str, str] = {}
for _kind, _names in {
    FRAME: "sys._getframe sys._current_frames sys._current_exceptions inspect.currentframe inspect.stack "
    "inspect.trace inspect.getouterframes inspect.getinnerframes inspect.getframeinfo traceback.walk_stack "
    "traceback.walk_tb",
    TRACE: "sys.settrace sys.setprofile sys.gettrace sys.getprofile sys.monitoring sys.addaudithook "
    "sys.call_tracing sys.breakpointhook sys.excepthook sys.unraisablehook sys.activate_stack_trampoline "
    "threading.settrace threading.setprofile threading.settrace_all_threads threading.setprofile_all_threads "
    "builtins.breakpoint bdb pdb",
    GC: "gc.get_referrers gc.get_referents gc.get_objects gc.callbacks gc.garbage gc.get_freeze_count",
    CTYPES: "ctypes _ctypes cffi mmap torch.utils.cpp_extension torch.ops.load_library torch.classes.load_library "
    "torch._C numpy.ctypeslib",
    FD: "os.write os.writev os.pwrite os.pwritev os.read os.readv os.pread os.dup os.dup2 os.fdopen os.open "
    "os.openpty os.pipe os.pipe2 os.sendfile os.splice os.copy_file_range os.memfd_create os.lseek "
    "os.ftruncate os.close os.closerange os.set_inheritable os.set_blocking os.fsync io.FileIO _io",
    SIGNAL: "signal _signal os.kill os.killpg os.pidfd_open",
    PROCESS: "subprocess _posixsubprocess pty multiprocessing concurrent os.system os.popen os.fork os.forkpty "
    "os.posix_spawn os.posix_spawnp os.setsid os.setpgid os.setpgrp os.register_at_fork os.abort os.wait "
    "os.waitpid os.wait3 os.wait4 os.waitid os.execl os.execle os.execlp os.execlpe os.execv os.execve "
    "os.execvp os.execvpe os.spawnl os.spawnle os.spawnlp os.spawnlpe os.spawnv os.spawnve os.spawnvp "
    "os.spawnvpe asyncio.create_subprocess_exec asyncio.create_subprocess_shell asyncio.subprocess "
    "threading _thread",
    SOCKET: "socket _socket ssl select selectors http urllib urllib3 requests ftplib smtplib telnetlib "
    "xmlrpc socketserver asyncio.open_connection asyncio.start_server",
    DYNAMIC_IMPORT: "importlib builtins.__import__ imp pkgutil runpy zipimport torch.hub sys.meta_path "
    "sys.path_hooks sys.path_importer_cache",
    EXEC: "builtins.exec builtins.eval builtins.compile code codeop types.CodeType types.FunctionType "
    "types.LambdaType timeit",
    MARSHAL: "marshal",
    PICKLE: "pickle _pickle cPickle shelve dill cloudpickle copyreg pickletools",
    SYS_MODULES: "sys.modules sys.path",
    GRADER_IMPORT: "autograder blockgrade pytest _pytest pluggy unittest hypothesis conftest",
}.items():
    for _name in _names.split():
        _RULES[_name] = _kind

# What of `sys`, `os` and `gc` honest code uses; any other attribute of them is flagged.
_SYS_OK = set(
    "stdout stderr stdin exit version version_info platform maxsize float_info int_info byteorder "
    "getrecursionlimit setrecursionlimit getsizeof hexversion implementation getdefaultencoding "
    "float_repr_style exc_info exception argv".split()
)
_OS_OK = set(
    "path getcwd listdir makedirs mkdir remove unlink rename replace sep linesep pathsep curdir pardir "
    "extsep environ getenv fspath PathLike scandir walk stat rmdir removedirs getpid cpu_count _exit "
    "name devnull fsencode fsdecode access R_OK W_OK X_OK F_OK".split()
)
_GC_OK = set("collect enable disable isenabled get_count get_threshold set_threshold get_stats freeze unfreeze".split())
# Attribute writes into these modules are settings, not patches.
_WRITE_OK = ("torch.backends.",)

# Modules that other modules hold as attributes (`warnings.sys`, `tempfile._os`): a name that
# goes through one is judged as that module's. Not `select` or `signal`: torch has its own.
_REEXPORTED = {
    "sys": "sys", "_sys": "sys", "os": "os", "_os": "os", "posix": "os", "gc": "gc", "_gc": "gc",
    "builtins": "builtins", "_builtins": "builtins", "pickle": "pickle", "_pickle": "pickle",
    "marshal": "marshal", "ctypes": "ctypes", "_ctypes": "ctypes", "subprocess": "subprocess",
    "_subprocess": "subprocess", "multiprocessing": "multiprocessing", "importlib": "importlib",
    "inspect": "inspect", "_inspect": "inspect", "threading": "threading", "_thread": "_thread",
    "socket": "socket", "_socket": "socket",
}  # fmt: skip

# Attribute names that are suspect whatever they are read from (and string constants equal to them).
_ATTRS: dict[str, str] = {}
for _kind, _names in {
    FRAME: "f_back f_locals f_globals f_builtins f_code f_trace f_lasti gi_frame cr_frame ag_frame tb_frame "
    "tb_next gi_yieldframe",
    DUNDER: "__subclasses__ __globals__ __code__ __mro__ __bases__ __base__ __closure__ __defaults__ "
    "__kwdefaults__ __loader__ __spec__ __reduce__ __reduce_ex__ __getstate__ co_code co_consts co_names "
    "gi_code cr_code __file__ __cached__ __path__ __self__ __setattr__ __func__",
    BUILTINS: "__builtins__",
    DYNAMIC_IMPORT: "__import__",
}.items():
    for _name in _names.split():
        _ATTRS[_name] = _kind

# Builtin names the scan resolves to `builtins.<name>` unless the module binds them itself.
_BUILTIN_NAMES = set(
    "exec eval compile __import__ getattr setattr delattr hasattr globals vars locals open breakpoint".split()
)
# Normalize modules that are other names for one already covered.
_ROOT_SYNONYMS = {"posix": "os", "nt": "os", "__builtin__": "builtins", "_io": "io"}
_PROC = re.compile(r"(^|[^\w])/(proc|dev/fd|dev/std(out|err|in)|dev/mem|dev/kmem|dev/tty|dev/pts)(/|$)")
_GRADER_PATHS = re.compile(r"/autograder\b|results\.json|gradebook\.csv|feedback\.md|blockgrade")
_BLOB = re.compile(r"[A-Za-z0-9+/=_-]{%d,}" % BLOB_RUN)
_TORCH_HOOKS = {"__torch_function__", "__torch_dispatch__"}
# Modules whose suspect parts are found by name: a star import from them would hide those names.
_STAR_HIDES = {"os", "sys", "gc", "io", "builtins", "types", "inspect", "importlib", "ctypes", "signal"}


@dataclass(frozen=True)
class Flag:
    kind: str
    line: int
    source: str  # the source line, stripped and capped
    detail: str  # what was found, e.g. "os.write" or "import of subprocess"

    def to_dict(self) -> dict:
        return asdict(self)


def summary(flags) -> str:
    """'2: frame access, fd write' (the count, then the kinds in order of first line); '' if none."""
    if not flags:
        return ""
    kinds: list[str] = []
    for f in flags:
        kind = f["kind"] if isinstance(f, dict) else f.kind
        if kind not in kinds:
            kinds.append(kind)
    count = f"{len(flags)}+" if len(flags) >= MAX_FLAGS else str(len(flags))
    return f"{count}: {', '.join(kinds)}"


def allowed(module: str, allow: tuple[str, ...] | set[str]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allow)


def _rule(qualname: str) -> tuple[str, str] | None:
    """(kind, rule) for a resolved dotted name, or None when nothing about it is suspect."""
    if allowed(qualname, _EXEMPT):
        return None
    parts = qualname.split(".")
    if parts[0] in _ROOT_SYNONYMS:
        parts[0] = _ROOT_SYNONYMS[parts[0]]
        qualname = ".".join(parts)
    for i in range(len(parts), 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in _RULES:
            return _RULES[prefix], prefix
    for i in range(1, len(parts)):
        # a module another module re-exports: `warnings.sys._getframe`, `tempfile._os.write`
        if parts[i] in _REEXPORTED:
            found = _rule(".".join([_REEXPORTED[parts[i]], *parts[i + 1 :]]))
            if found:
                return found
    if len(parts) >= 2 and not parts[1].startswith("__"):  # dunders: see _ATTRS and `__dict__`
        root, attr = parts[0], parts[1]
        if root == "sys" and attr not in _SYS_OK:
            return SYS_INTERNALS, f"sys.{attr}"
        if root == "os" and attr not in _OS_OK:
            if attr.startswith(("exec", "spawn", "wait", "fork")):
                return PROCESS, f"os.{attr}"
            return OS_CALL, f"os.{attr}"
        if root == "gc" and attr not in _GC_OK:
            return GC, f"gc.{attr}"
    return None


# The start of a frame's, a traceback's, a generator's or a code object's attribute, or a dunder
_SUSPECT_PIECE = re.compile(r"(f|tb|gi|cr|ag|co)_|__|.*__$")


def _const_pieces(node: ast.AST, depth: int = 0) -> list[str]:
    """The constant parts of a string built partly from variables (f"tb_{x}ame": "tb_", "ame"),
    adjacent constants joined."""
    if depth > MAX_DEPTH:
        return []
    whole = _const_str(node, depth + 1)
    if whole is not None:
        return [whole]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _const_pieces(node.left, depth + 1) + _const_pieces(node.right, depth + 1)
    if isinstance(node, ast.JoinedStr):
        pieces: list[str] = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                value = value.value
            pieces += _const_pieces(value, depth + 1)
        return pieces
    return []


def _const_str(node: ast.AST, depth: int = 0) -> str | None:
    """The value of a string expression built from constants ('wri' + 'te', f'{"a"}b'), else None."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _const_str(node.left, depth + 1), _const_str(node.right, depth + 1)
        if left is not None and right is not None:
            return left + right
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):  # '/pro%s' % 'c'
        left = _const_str(node.left, depth + 1)
        items = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
        values = [_const_str(e, depth + 1) for e in items]
        if left is not None and all(v is not None for v in values):
            try:
                return left % tuple(values)
            except (TypeError, ValueError):
                return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.keywords:
        if node.func.attr == "format":  # '{}{}'.format('/pro', 'c')
            template = _const_str(node.func.value, depth + 1)
            values = [_const_str(a, depth + 1) for a in node.args]
            if template is not None and all(v is not None for v in values):
                try:
                    return template.format(*values)
                except (IndexError, KeyError, ValueError):
                    return None
        if node.func.attr == "join" and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "path":
            parts = [_const_str(a, depth + 1) for a in node.args]  # os.path.join('/', 'proc')
            if parts and all(p is not None for p in parts):
                import posixpath

                return posixpath.join(*parts)
    if isinstance(node, ast.JoinedStr):
        pieces = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                value = value.value
            piece = _const_str(value, depth + 1)
            if piece is None:
                return None
            pieces.append(piece)
        return "".join(pieces)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "join"
        and not node.keywords
        and len(node.args) == 1
        and isinstance(node.args[0], (ast.List, ast.Tuple))
    ):
        sep = _const_str(node.func.value, depth + 1)
        items = [_const_str(e, depth + 1) for e in node.args[0].elts]
        if sep is not None and all(i is not None for i in items):
            return sep.join(items)
    return None


def _encoded(node: ast.AST) -> bool:
    """Whether an expression builds a string from character codes or bytes (chr, bytes, decode)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            f = sub.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name in ("chr", "bytes", "bytearray", "decode", "fromhex", "b64decode", "unhexlify", "reversed"):
                return True
        if isinstance(sub, ast.Constant) and isinstance(sub.value, bytes):
            return True
    return False


class _Scan:
    def __init__(self, tree: ast.Module, lines: list[str], allow: set[str], extra: set[str], deadline: float):
        self.tree = tree
        self.lines = lines
        self.allow = allow
        self.extra = extra  # modules the assignment allows: their uses are not flagged either
        self.deadline = deadline
        self.flags: dict[tuple[int, str], Flag] = {}
        self.aliases: dict[str, str] = {}
        self.complete = True

    # ---------------------------------------------------------------- flags
    def flag(self, node: ast.AST, kind: str, detail: str) -> None:
        line = getattr(node, "lineno", 0) or 0
        key = (line, kind)
        if key in self.flags or len(self.flags) >= MAX_FLAGS:
            return
        text = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        if len(text) > MAX_LINE_CHARS:
            text = text[: MAX_LINE_CHARS - 1] + "…"
        self.flags[key] = Flag(kind, line, text, detail[:MAX_LINE_CHARS])

    def check_name(self, node: ast.AST, qualname: str | None) -> None:
        if not qualname:
            return
        found = _rule(qualname)
        if found and not allowed(found[1], self.extra):
            self.flag(node, found[0], qualname)

    # ---------------------------------------------------------------- names
    def resolve(self, node: ast.AST, depth: int = 0) -> str | None:
        """The dotted name an expression stands for when it is rooted in an imported module or a
        builtin ('os.write' for `o.write` after `import os as o`), else None."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            # a builtin's name is the builtin even where the module rebinds it: flow-blind
            # shadowing (`if 0: def exec(): ...`) would otherwise hide the real one
            if node.id in _BUILTIN_NAMES:
                return f"builtins.{node.id}"
            if node.id == "__builtins__":
                return "builtins"
            return None
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value, depth + 1)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call) and node.args:
            func = self.resolve(node.func, depth + 1)
            if func == "builtins.getattr" and len(node.args) >= 2:
                base, name = self.resolve(node.args[0], depth + 1), _const_str(node.args[1])
                return f"{base}.{name}" if base and name else None
            if func in ("builtins.__import__", "importlib.import_module", "importlib.__import__"):
                name = _const_str(node.args[0])
                return name.split(".")[0] if name and func == "builtins.__import__" else name
        if isinstance(node, ast.Subscript):
            base = self.resolve(node.value, depth + 1)
            key = _const_str(node.slice)
            if base == "sys.modules" and key:
                return key
        return None

    def collect_names(self) -> None:
        assignments = []
        for node in self.nodes:
            if isinstance(node, (ast.Assign, ast.NamedExpr)):
                assignments.append(node)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name != "*":
                        self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        # `w = os.write`, `o = os` (twice, for chains of two)
        for _ in range(2):
            for node in assignments:
                if time.monotonic() > self.deadline:
                    self.complete = False
                    return
                if isinstance(getattr(node, "value", None), ast.AST):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    qualname = self.resolve(node.value)
                    if qualname:
                        for target in targets:
                            if isinstance(target, ast.Name) and target.id not in self.aliases:
                                self.aliases[target.id] = qualname

    # ---------------------------------------------------------------- the walk
    def run(self) -> None:
        self.nodes = []
        for count, node in enumerate(ast.walk(self.tree)):  # one walk; the checks run over the list
            if count % 4096 == 0 and time.monotonic() > self.deadline:
                self.complete = False
                return
            self.nodes.append(node)
        self.collect_names()
        for count, node in enumerate(self.nodes):
            if count % 512 == 0 and time.monotonic() > self.deadline:
                self.complete = False
                return
            if len(self.flags) >= MAX_FLAGS:
                return
            self.visit(node)

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self.check_import(node, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                self.flag(node, IMPORT, f"relative import from {'.' * node.level}{node.module or ''}")
            elif node.module:
                self.check_import(node, node.module)
                root = _ROOT_SYNONYMS.get(node.module.split(".")[0], node.module.split(".")[0])
                if any(a.name == "*" for a in node.names) and root in _STAR_HIDES:
                    self.flag(node, IMPORT, f"from {node.module} import *: the names it brings in go unchecked")
                for alias in node.names:
                    if alias.name != "*":
                        self.check_name(node, f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Name):
            if node.id == "__builtins__":
                self.flag(node, BUILTINS, "__builtins__")
            elif node.id in ("__loader__", "__spec__"):
                self.flag(node, DUNDER, node.id)
            elif isinstance(node.ctx, ast.Load):
                self.check_name(node, self.resolve(node))
        elif isinstance(node, ast.Attribute):
            if node.attr in _ATTRS:
                self.flag(node, _ATTRS[node.attr], f".{node.attr}")
            qualname = self.resolve(node)
            self.check_name(node, qualname)
            if node.attr == "__dict__" and self.resolve(node.value):
                self.flag(node, DYNAMIC_GETATTR, f"{self.resolve(node.value)}.__dict__")
        elif isinstance(node, ast.Call):
            self.visit_call(node)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                for element in ast.walk(target) if isinstance(target, (ast.Tuple, ast.List)) else [target]:
                    if isinstance(element, ast.Attribute):
                        self.check_write(element, self.resolve(element))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in _TORCH_HOOKS:
            self.flag(node, TORCH_OVERRIDE, f"defines {node.name}")
        elif isinstance(node, ast.Constant):
            self.check_constant(node, node.value)
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, (ast.Add, ast.Mod))
            or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("format", "join")
            )
        ):
            folded = _const_str(node)  # '/pro' + 'c', '/%s' % 'proc', os.path.join('/', 'proc')
            if folded is not None:
                self.check_constant(node, folded)
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set)) and len(node.elts) >= BLOB_BYTES:
            if all(isinstance(e, ast.Constant) and isinstance(e.value, int) for e in node.elts):
                self.flag(node, BLOB, f"a literal of {len(node.elts)} integers")

    def check_import(self, node: ast.AST, module: str) -> None:
        found = _rule(module)
        if found and not allowed(found[1], self.extra):
            self.flag(node, found[0], f"import of {module}")
        elif not allowed(module, self.allow):
            self.flag(node, IMPORT, f"import of {module} (not in the allowed imports)")

    def check_write(self, node: ast.Attribute, qualname: str | None) -> None:
        if not qualname:
            return
        if qualname.startswith("builtins."):
            self.flag(node, BUILTINS, f"assigns {qualname}")
        elif not qualname.startswith(_WRITE_OK):
            self.flag(node, MODULE_PATCH, f"assigns {qualname}")

    def visit_call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
            folded = _const_str(node)  # '{}'.format('/proc'), os.path.join('/', 'proc')
            if folded is not None:
                self.check_constant(node, folded)
        func = self.resolve(node.func)
        if func in ("builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.hasattr") and node.args:
            target = self.resolve(node.args[0])
            name = _const_str(node.args[1]) if len(node.args) > 1 else None
            if name is not None and name in _ATTRS:
                self.flag(node, _ATTRS[name], f"{func[9:]}(…, {name!r})")
            if name is None and len(node.args) > 1 and _encoded(node.args[1]):
                # a name spelled in character codes or bytes hides what it reaches, on any object
                self.flag(node, DYNAMIC_GETATTR, f"{func[9:]}(…, <name built from codes>)")
            elif name is None and len(node.args) > 1:
                # a name built around a suspect piece (f"tb_{x}ame", "f_" + y), on any object: honest
                # code computes names too (f"block {i}", str(index)), but not frames' or dunders'
                piece = next((p for p in _const_pieces(node.args[1]) if _SUSPECT_PIECE.match(p)), None)
                if piece is not None:
                    self.flag(node, DYNAMIC_GETATTR, f"{func[9:]}(…, <a name built around {piece!r:.40}>)")
            if target:
                if name is None:
                    self.flag(node, DYNAMIC_GETATTR, f"{func[9:]}({target}, <computed name>)")
                elif func != "builtins.getattr" and func != "builtins.hasattr":
                    self.check_write(node, f"{target}.{name}")
                else:
                    self.check_name(node, f"{target}.{name}")
        elif func == "builtins.globals":
            self.flag(node, DYNAMIC_GETATTR, "globals()")
        elif func == "builtins.vars" and node.args and self.resolve(node.args[0]):
            self.flag(node, DYNAMIC_GETATTR, f"vars({self.resolve(node.args[0])})")
        elif func in ("builtins.open", "io.open", "io.FileIO", "os.fdopen") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, int) and not isinstance(first.value, bool):
                self.flag(node, FD, f"{func[9:] if func.startswith('builtins.') else func}({first.value})")
            if any(k.arg in ("opener", "closefd") for k in node.keywords):
                self.flag(node, FD, f"{func} with a custom opener")
        elif func in ("builtins.__import__", "importlib.import_module"):
            target = self.resolve(node)
            if target:
                self.check_import(node, target)
            else:
                self.flag(node, DYNAMIC_IMPORT, f"{func}(<computed name>)")

    def check_constant(self, node: ast.AST, value) -> None:
        if isinstance(value, bytes):
            if len(value) >= BLOB_BYTES:
                self.flag(node, BLOB, f"a bytes literal of {len(value)} bytes")
            value = value.decode("latin-1")
        if not isinstance(value, str):
            return
        if value in _ATTRS:
            self.flag(node, _ATTRS[value], repr(value))
        if _PROC.search(value):
            self.flag(node, PROC, repr(_PROC.search(value).group(0).lstrip()))
        if _GRADER_PATHS.search(value):
            self.flag(node, GRADER_PATH, repr(_GRADER_PATHS.search(value).group(0)))
        blob = _BLOB.search(value)
        if blob:
            self.flag(node, BLOB, f"a string of {len(blob.group(0))} base64/hex characters")


def _parse(source: str) -> ast.Module | None:
    """The module as the sandbox's loader runs it: top-level blocks with syntax errors left out."""
    from autograder.sandbox.loader import _parse_salvaging

    tree, _ = _parse_salvaging(source, "<submission>")
    return tree


def scan(source: str, allowed_imports=()) -> list[Flag]:
    """The flags of a module's source, in line order. Never raises on any input."""
    try:
        return _scan(source, tuple(allowed_imports))
    except Exception as exc:  # RecursionError, MemoryError subclasses aside: a bug of ours
        return [Flag(UNSCANNED, 0, "", f"the scan failed: {type(exc).__name__}")]


def _scan(source: str, extra: tuple[str, ...]) -> list[Flag]:
    deadline = time.monotonic() + MAX_SECONDS
    if not isinstance(source, str):
        return []
    truncated = len(source) > MAX_SOURCE_CHARS
    if truncated:
        source = source[: source.rfind("\n", 0, MAX_SOURCE_CHARS) + 1]
    try:
        tree = _parse(source)
    except (RecursionError, MemoryError) as exc:  # nested past the parser's limits: the loader fails too
        return [Flag(UNSCANNED, 0, "", f"the source could not be parsed ({type(exc).__name__})")]
    lines = source.splitlines()
    scanner = _Scan(
        tree or ast.Module(body=[], type_ignores=[]),
        lines,
        set(DEFAULT_ALLOWED_IMPORTS) | set(extra),
        set(extra),
        deadline,
    )
    try:
        scanner.run()
    except RecursionError:
        scanner.complete = False
    flags = sorted(scanner.flags.values(), key=lambda f: (f.line, f.kind))
    if truncated or not scanner.complete:
        why = "too large" if truncated else "took too long"
        flags.append(Flag(UNSCANNED, 0, "", f"the source was {why} to scan in full"))
    return flags[:MAX_FLAGS]
