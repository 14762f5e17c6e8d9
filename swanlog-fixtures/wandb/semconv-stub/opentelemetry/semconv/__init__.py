# Stand-in for opentelemetry-semantic-conventions (absent from the package index): wandb's
# telemetry only needs its constants to exist, and is never exported in offline mode. Every
# submodule is made on import; every name in it is a string.
import importlib.abc
import importlib.machinery
import sys
import types


class _Names(type):
    def __getattr__(cls, name):
        return name.lower().replace("_", ".")


class _Module(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name[:1].isupper() and not name.isupper():
            return _Names(name, (), {})
        return name.lower().replace("_", ".")


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.startswith(__name__ + "."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = _Module(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _Finder())
