"""Checks of config documents and provisioning folders, before a device finds the problem.

``check_document(name, doc)`` judges one document (the editor and the wizard call it on unsaved
files); ``check_folder(config_dir, firmware_dir=None)`` judges a whole folder and reuses it.

Finding codes are stable. By severity:

- error: ``name-mac-lowercase``, ``name-mac-malformed``, ``name-extension``, ``name-near-miss``
  (a warning when the right name is also present), ``not-a-config``, ``file-unreadable``,
  ``md5-missing``, ``md5-mismatch``, ``md5-unreadable``, ``data-path``, ``data-missing``,
  ``data-md5-missing``, ``firmware-missing``, ``firmware-md5-missing``,
  ``prov-disabled-with-steps``, ``static-server-missing``, ``template-placeholder``;
- warning: ``mac-not-algo``, ``product-unknown``, ``duplicate-key``, ``hash-in-value``,
  ``line-unparsed``, ``value-invalid``, ``secret-in-generic``, ``config-shadowed``,
  ``config-empty``, ``data-extension``, ``firmware-bundle``, ``path-slashes``;
- info: ``md5-orphan``, ``incremental-needs-partial``, ``prov-disabled``, ``prov-left-enabled``,
  ``firmware-product``, ``folder-no-configs``.
"""

from algodesk.core.checks.document import check_document
from algodesk.core.checks.findings import Finding, Severity, sort_findings
from algodesk.core.checks.folder import FolderError, check_folder

__all__ = ["Finding", "FolderError", "Severity", "check_document", "check_folder", "sort_findings"]
