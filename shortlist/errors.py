"""Errors a user can cause, each carrying a message meant to be printed as is."""


class ShortlistError(Exception):
    """Base for errors whose message is fit for the user's terminal."""


class SourceError(ShortlistError):
    """A source (path, URL, bucket key) could not be read or fetched."""


class MediaError(ShortlistError):
    """A file is not a decodable video, or decoding it failed."""


class StoreUnavailable(ShortlistError):
    """The vector store cannot be reached or opened."""


class NotFound(ShortlistError):
    """An id names nothing in the catalogue."""


class VideoRefused(ShortlistError):
    """A readable video this catalogue does not take (longer than its limit). Not
    remembered as a failure: raising the limit makes the next ingest take it."""


class CloudServiceError(ShortlistError):
    """A cloud model (Gemini, Vertex embeddings, Twelve Labs) refused, failed after its
    retries, gave a malformed answer or none in time: the stage fails with the reason,
    never with an invented result."""
