from taintsigma.convert.kql.backend import KibanaKqlBackend

__all__ = ["KibanaKqlBackend"]
backends = {"kibana-kql": KibanaKqlBackend}
