"""The region search in a second process: the same regions as in line, and a failure there
costs only time."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import explorer
from explorer import beside, embed, regions
from explorer.cache import StageCache
from explorer.data import infer_schema
from explorer.datasets import make_planted
from explorer.errors import DataError
from explorer.neighbours import NeighbourGraph, NeighbourSearch, neighbour_graph
from explorer.rules import RuleFeatures


def region_facts(search):
    """Every field of every region (the rows as a list, so regions compare with ==)."""
    return [{**vars(region), "rows": region.rows.tolist()} for region in search.regions]


@pytest.fixture(scope="module")
def job():
    planted = make_planted(n_rows=1500, regions=("rule", "subgroup"), seed=1)
    frame = planted.frame
    schema = infer_schema(frame, target="label", prediction="prediction")
    from explorer import model

    predictions = model.honest_predictions(frame, schema, seed=0)
    inputs = embed.input_space(embed.model_space_only(frame, schema, predictions))
    return beside.SearchJob(inputs, predictions.is_error, RuleFeatures.from_frame(frame, schema),
                            seed=2, alpha=0.05, min_region_size=None,
                            finders=dict(regions.FINDERS), graph=NeighbourSearch(inputs, seed=2))


def fresh(job):
    """``job`` with a neighbour search of its own (a search remembers what it found)."""
    return dataclasses.replace(job, graph=NeighbourSearch(job.inputs, seed=job.seed))


@pytest.fixture(scope="module")
def searched_in_line(job):
    """The job run in line with a neighbour search of its own, and that search."""
    own = fresh(job)
    return beside.run_search(own), own.graph


@pytest.fixture(scope="module")
def in_line(searched_in_line):
    return searched_in_line[0]


def test_the_search_beside_finds_what_the_search_in_line_finds(job, in_line,
                                                               searched_in_line):
    heard = []
    done = beside.SearchBeside(job).result(heard.append)
    assert region_facts(done.search) == region_facts(in_line.search) != []
    assert done.search.candidates_tested == in_line.search.candidates_tested
    assert done.search.notes == in_line.search.notes
    assert in_line.searched is None  # in line the analysis' own search answered
    for ours, theirs in zip(done.searched, searched_in_line[1].found()):  # as it would
        assert np.array_equal(ours, theirs)
    assert heard and heard == sorted(heard) and max(heard) < 1
    assert done.seconds > 0


@pytest.mark.parametrize("python, failure", [("/bin/false", "the search failed there"),
                                             ("/no/such/python", "could not start")])
def test_a_second_process_that_fails_costs_only_time(job, in_line, monkeypatch, python,
                                                     failure):
    monkeypatch.setattr(beside.sys, "executable", python)
    search_beside = beside.SearchBeside(fresh(job))
    done = search_beside.result()
    assert failure in search_beside.failure
    assert region_facts(done.search) == region_facts(in_line.search)
    assert not search_beside._folder.exists()


def test_only_finders_a_fresh_process_can_import_and_that_read_no_map_go_beside(
        job, monkeypatch):
    monkeypatch.setattr(beside, "BESIDE_ROWS", 100)
    monkeypatch.setattr(beside, "usable_cores", lambda: 2)
    assert beside.worth_a_second_process(job)
    for finders in ({"local": lambda context: []}, regions.OPTIONAL_FINDERS):
        assert not beside.worth_a_second_process(
            beside.SearchJob(**{**job.__dict__, "finders": {**job.finders, **finders}}))
    monkeypatch.setattr(beside, "usable_cores", lambda: 1)
    assert not beside.worth_a_second_process(job)


def test_the_job_and_its_result_pass_through_files_unchanged(job, searched_in_line,
                                                             tmp_path):
    in_line, search = searched_in_line
    folder = StageCache(tmp_path)
    beside._write_job(job, folder)
    read = beside._read_job(folder)
    assert read.finders == job.finders and read.rule_features.names == job.rule_features.names
    assert np.array_equal(read.inputs, job.inputs) and read.inputs.dtype == job.inputs.dtype
    beside._write_done(in_line, search, folder)
    read_back = beside._read_done(folder)
    assert region_facts(read_back.search) == region_facts(in_line.search)
    for ours, theirs in zip(read_back.searched, search.found()):
        assert np.array_equal(ours, theirs)


def spy_on_searches_beside(monkeypatch) -> list:
    started = []
    original = beside.SearchBeside.__init__

    def init(self, job):
        original(self, job)
        started.append(self)

    monkeypatch.setattr(beside.SearchBeside, "__init__", init)
    monkeypatch.setattr(beside, "usable_cores", lambda: 2)
    return started


def test_analyze_searches_beside_the_map_and_finds_the_same_regions(
        planted_data, planted_analysis, tmp_path, monkeypatch):
    alone = planted_analysis  # 600 rows: searched in line
    started = spy_on_searches_beside(monkeypatch)
    monkeypatch.setattr(beside, "BESIDE_ROWS", 100)
    together = explorer.analyze(planted_data.frame, target="label", prediction="prediction",
                                seed=alone.seed, cache_dir=tmp_path)
    assert len(started) == 1 and started[0].failure is None
    assert [r.rows.tolist() for r in together.regions] == [r.rows.tolist() for r in alone.regions]
    assert [r.description for r in together.regions] == [r.description for r in alone.regions]
    assert together.notes == alone.notes
    assert {"encode", "neighbours", "map", "regions", "search wait"} <= set(together.timings)


def test_a_map_that_fails_stops_the_search_beside_it(planted_data, tmp_path, monkeypatch):
    started = spy_on_searches_beside(monkeypatch)
    monkeypatch.setattr(beside, "BESIDE_ROWS", 100)

    def failing_map(encoded, progress=None):
        raise DataError("the map failed")

    monkeypatch.setattr(embed, "fit_map", failing_map)
    with pytest.raises(DataError, match="the map failed"):
        explorer.analyze(planted_data.frame, target="label", prediction="prediction", seed=5,
                         cache_dir=tmp_path)
    [stopped] = started
    assert stopped._process.poll() is not None and not stopped._folder.exists()


def test_a_graph_passes_to_the_second_process_and_is_read_there(job, tmp_path):
    graph = neighbour_graph(job.inputs, seed=job.seed)
    with_graph = dataclasses.replace(job, graph=graph)
    folder = StageCache(tmp_path)
    beside._write_job(with_graph, folder)
    read = beside._read_job(folder).graph
    assert isinstance(read, NeighbourGraph) and np.array_equal(read.indices, graph.indices)
    in_line = beside.run_search(with_graph)
    done = beside.SearchBeside(with_graph).result()
    assert region_facts(done.search) == region_facts(in_line.search)
    assert done.searched is None
