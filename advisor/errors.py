"""Exceptions whose messages are written for users: the CLI prints them, the UI shows them."""


class AdvisorError(Exception):
    """Base class: something the user can act on."""


class InvalidQuestionError(AdvisorError, ValueError):
    """The question is empty, too long or unreadable."""


class IndexMissingError(AdvisorError):
    """No index has been built yet."""


class IndexMismatchError(AdvisorError):
    """The index was built with other settings (model, chunking) than the current ones."""


class IndexCorruptError(AdvisorError):
    """The index files cannot be read."""


class IndexBusyError(AdvisorError):
    """Another process is building the index."""


class CorpusError(AdvisorError):
    """The corpus folder is missing or holds nothing that can be indexed."""


class ConfigError(AdvisorError):
    """A setting has a value the advisor cannot use."""


class LLMError(AdvisorError):
    """The configured language model failed or could not be reached."""


class UploadError(AdvisorError):
    """A file offered in the page or to the CV check was refused (type, size, name, damage)."""
