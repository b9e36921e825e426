"""BeamDagRunner whose nodes report when they start and finish (`progress.NodeEvent`).

BeamDagRunner launches every pipeline node (stock or custom component,
resolver, conditional node) from one Beam DoFn, `PipelineNodeAsDoFn`, which it
builds from its `_PIPELINE_NODE_DO_FN_CLS` class attribute: the extension point
TFX's own runner tests use. `ReportingDagRunner` swaps in a DoFn whose
`_run_node` wraps the stock one. The hook is robust because:

- it wraps the launch itself, so it never depends on the wording of TFX's log
  lines (which changes between releases) or on which executor a node runs;
- an exception passes through it, so a failed component is reported as such;
- its seconds cover the whole launch (driver, executor, publisher), as MLMD's
  execution times do.

The orchestration pipeline runs on the in-process FnApiRunner
(`local_runner.orchestration_runner`), so the events reach this process's
logging handlers.
"""

from __future__ import annotations

import time

from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner, PipelineNodeAsDoFn

from newlevels.pipeline.progress import DONE, FAILED, STARTED, NodeEvent, report


class ReportingNodeDoFn(PipelineNodeAsDoFn):
    """TFX's node DoFn, reporting when the node's launch starts, finishes or fails."""

    def _run_node(self) -> None:
        report(NodeEvent(self._node_id, STARTED))
        started = time.monotonic()
        try:
            super()._run_node()
        except BaseException:
            report(NodeEvent(self._node_id, FAILED, time.monotonic() - started))
            raise
        report(NodeEvent(self._node_id, DONE, time.monotonic() - started))


class ReportingDagRunner(BeamDagRunner):
    """BeamDagRunner whose nodes report their start and finish (`ReportingNodeDoFn`)."""

    _PIPELINE_NODE_DO_FN_CLS = ReportingNodeDoFn
