"""Compiles `create_pipeline` for Kubeflow Pipelines v2 and Vertex AI Pipelines.

The pipeline is the one the local runner runs, built with RuntimeParameters
for the per-run values (`pipeline/parameters.py`) and compiled with TFX's
KubeflowV2DagRunner into the KFP pipeline-spec schema 2.1 (typed parameters,
which both the KFP 2 backend and Vertex AI read).

The resolvers compile into metadata queries that name no pipeline;
`queries.scope_resolver_queries` scopes them to the pipeline's name.
"""

from __future__ import annotations

import json
import os
from typing import Any

import yaml
from tfx import v1 as tfx

from newlevels.kubeflow.queries import scope_resolver_queries
from newlevels.pipeline.config import RunConfig
from newlevels.pipeline.parameters import parameter_values
from newlevels.pipeline.pipeline import create_pipeline

#: the tag README's `docker build -f newlevels/kubeflow/Dockerfile` gives the image.
DEFAULT_IMAGE = "newlevels:0.1.0"
YAML_SUFFIXES = (".yaml", ".yml")


def compile_job(config: RunConfig, image: str) -> dict[str, Any]:
    """Compiles the pipeline into a PipelineJob dict (`pipelineSpec` and `runtimeConfig`).

    Every runtime parameter gets `config`'s value as its default twice: in
    `runtimeConfig` (which Vertex AI reads from a JSON job) and in the spec's root
    inputs (which TFX leaves without defaults, and which is all a KFP YAML holds);
    the pipeline root likewise goes into the spec as `defaultPipelineRoot`.

    Args:
        config: the run configuration; its paths must be reachable from every
            container (gs://, s3://, a mounted volume).
        image: the container image of every component (built from newlevels/kubeflow/Dockerfile).

    Returns:
        The PipelineJob as a JSON-compatible dict.
    """
    defaults = parameter_values(config)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=image, use_pipeline_spec_2_1=True
        )
    )
    job = runner.run(
        create_pipeline(config, runtime_parameters=True),
        parameter_values=defaults,
        write_out=False,
    )
    spec = job["pipelineSpec"]
    for name, value in defaults.items():
        spec["root"]["inputDefinitions"]["parameters"][name].update(
            defaultValue=value, isOptional=True
        )
    # TFX puts the root in runtimeConfig only; a YAML spec would lose it.
    spec["defaultPipelineRoot"] = config.pipeline_root
    scope_resolver_queries(spec, config.pipeline_name)
    return job


def write_job(job: dict[str, Any], out: str) -> None:
    """Writes the PipelineJob as JSON, or only its PipelineSpec as YAML for a .yaml `out`.

    KFP's `create_run_from_pipeline_package` reads YAML PipelineSpecs only;
    Vertex AI reads either.
    """
    folder = os.path.dirname(out)
    if folder:
        tfx.dsl.io.fileio.makedirs(folder)
    with tfx.dsl.io.fileio.open(out, "w") as handle:
        if out.endswith(YAML_SUFFIXES):
            yaml.safe_dump(job["pipelineSpec"], handle, sort_keys=True)
        else:
            json.dump(job, handle, sort_keys=True, indent=1)
