"""`opmetrics-dbt`: dbt's own command line, as the daily run starts it (`orchestration.dbt.assets.dbt_resource`).

It is dbt's CLI unchanged, except that the process ends without a last garbage collection over dbt's heap
(`orchestration.fast_exit`).
"""

from __future__ import annotations

import sys

from orchestration.fast_exit import skip_final_collection


def main() -> None:
    """Run dbt with this process's arguments and exit with its code."""
    from dbt.cli.main import cli

    skip_final_collection()
    sys.exit(cli())


if __name__ == "__main__":
    main()
