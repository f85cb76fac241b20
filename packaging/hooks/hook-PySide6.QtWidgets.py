# algodesk's version of PyInstaller's hook: the same collection minus the Qt plugins and
# translations algodesk never loads (bundle_contents.keep_hook_entry). Dropping them here, before
# the analysis, also keeps out the system libraries only they link against (GTK, CUPS, ...).
from bundle_contents import keep_hook_entry
from PyInstaller.utils.hooks.qt import add_qt6_dependencies

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = [entry for entry in binaries if keep_hook_entry(entry)]
datas = [entry for entry in datas if keep_hook_entry(entry)]
