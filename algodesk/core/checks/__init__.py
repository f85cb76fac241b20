"""Checks of config documents and provisioning folders, before a device finds the problem.

``check_document(name, doc, context)`` judges one document (the editor and the wizard call it on
unsaved files); ``check_folder(config_dir, firmware_dir=None, context)`` judges a whole folder and
reuses it. The :class:`CheckContext` says how the folder is served: as a folder on its own
(``algodesk check``), as this bench serves it (Folder page, live view), or as a stage-1 file.

Finding codes are stable. By severity (a few depend on the context, noted):

- error: ``name-mac-lowercase``, ``name-mac-malformed``, ``name-extension``, ``name-near-miss``
  (a warning when the right name is also present), ``not-a-config``, ``file-unreadable``,
  ``md5-missing`` (info where this bench answers it), ``md5-mismatch``, ``md5-unreadable``,
  ``md5-form`` (a warning when the file starts with the hash), ``data-path``, ``data-missing``,
  ``data-md5-missing``, ``firmware-missing``, ``firmware-md5-missing``, ``firmware-bundle``,
  ``firmware-value``, ``method-switch-dhcp``, ``prov-disabled-with-steps``,
  ``static-server-missing``, ``template-placeholder``;
- warning: ``mac-not-algo``, ``product-unknown``, ``duplicate-key``, ``hash-in-value``,
  ``line-unparsed``, ``value-invalid``, ``key-case``, ``key-unknown`` (info without a near key),
  ``secret-in-generic``, ``config-shadowed``, ``config-empty``, ``config-path``,
  ``data-extension``, ``path-slashes``, ``md5-misnamed``, ``stage1-no-handoff``,
  ``stage1-user-no-password``, ``stage1-cert-method``, ``stage1-static-ip``;
- info: ``md5-orphan``, ``incremental-needs-partial``, ``prov-disabled``, ``prov-left-enabled``,
  ``static-server-kept``, ``server-method-unknown``, ``data-ignored``, ``firmware-product``,
  ``folder-no-configs``.
"""

from algodesk.core.checks.context import (
    FOLDER_ON_ITS_OWN,
    STAGE1,
    CheckContext,
    bench_context,
)
from algodesk.core.checks.document import check_document
from algodesk.core.checks.findings import Finding, Severity, sort_findings
from algodesk.core.checks.folder import BenchChecker, FolderError, check_folder

__all__ = [
    "FOLDER_ON_ITS_OWN",
    "STAGE1",
    "BenchChecker",
    "CheckContext",
    "Finding",
    "FolderError",
    "Severity",
    "bench_context",
    "check_document",
    "check_folder",
    "sort_findings",
]
