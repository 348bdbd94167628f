"""A complete qd domain in one file: polygons as round as they can be for their shape.

``python examples/custom_domain.py`` runs a short search; docs/domains.md says the rest."""

import math

import numpy as np

from qd.domain import Domain, Evaluation, Measure, Operator


class Polygons(Domain):
    """Polygons by vertex count and elongation; objective: roundness ``4 pi A / P**2`` in [0, 1]."""

    name = "polygons"

    def __init__(self, *, max_vertices: int = 12) -> None:
        if max_vertices < 3:  # a ValueError here becomes a config error (exit 2)
            raise ValueError(f"max_vertices: need at least 3, got {max_vertices}")
        self.max_vertices = max_vertices
        self.measures = (
            Measure.uniform("vertices", 3, max_vertices + 1, max_vertices - 2),
            # Explicit edges: fine bins for squat shapes, coarse ones for long thin ones.
            Measure.with_edges("elongation", [1, 1.1, 1.25, 1.5, 2, 3, 5, 10], title="long/short"),
        )

    def initial(self, n: int, rng: np.random.Generator) -> list[tuple]:
        shapes = []  # star-shaped: 3 to 6 sorted angles, random radii
        for k in rng.integers(3, min(6, self.max_vertices) + 1, size=n):
            a, r = np.sort(rng.uniform(0, 2 * math.pi, k)), rng.uniform(0.2, 1, k)
            x, y = (r * np.cos(a)).tolist(), (r * np.sin(a)).tolist()
            shapes.append(tuple(zip(x, y, strict=True)))
        return shapes

    def variation(self) -> Operator:
        return Operator(self._mutate, arity=1, name="move-add-drop")

    def _mutate(self, parents, rng: np.random.Generator) -> list[tuple]:
        points = [list(p) for p in parents[0]]
        i, draw = int(rng.integers(len(points))), rng.random()
        if draw < 0.2 and len(points) < self.max_vertices:  # add a midpoint after vertex i
            j = (i + 1) % len(points)
            points.insert(j, list(np.mean([points[i], points[j]], axis=0)))
        elif draw < 0.3 and len(points) > 3:  # drop vertex i
            del points[i]
        i %= len(points)
        points[i] = np.clip(np.add(points[i], rng.normal(0, 0.1, 2)), -1, 1)
        return [tuple((float(x), float(y)) for x, y in points)]

    def evaluate(self, batch) -> list[Evaluation]:
        return [self.score(candidate) for candidate in batch]

    def score(self, candidate) -> Evaluation:
        try:  # never raise: anything that is not a polygon is invalid, with a reason
            p = np.asarray(candidate, dtype=float)
        except (TypeError, ValueError):
            return Evaluation.invalid(f"not a list of points: {type(candidate).__name__}")
        if p.ndim != 2 or p.shape[1] != 2 or len(p) < 3 or not np.isfinite(p).all():
            return Evaluation.invalid("need at least three finite (x, y) points")
        q = np.roll(p, -1, axis=0)
        area = abs(float(np.sum(p[:, 0] * q[:, 1] - q[:, 0] * p[:, 1]))) / 2
        perimeter = float(np.sum(np.hypot(*(q - p).T)))
        short, long = sorted(np.ptp(p, axis=0))
        if area < 1e-9 or short < 1e-9:
            return Evaluation.invalid("degenerate polygon", area=area)
        roundness = min(1.0, 4 * math.pi * area / perimeter**2)
        return Evaluation(roundness, (len(p), float(long / short)), {"area": round(area, 4)})

    def encode(self, candidate: tuple) -> list[list[float]]:
        return [list(point) for point in candidate]  # JSON has lists, not tuples

    def decode(self, data: list) -> tuple:
        return tuple((float(x), float(y)) for x, y in data)

    def render(self, candidate: tuple, info: dict | None = None):
        from matplotlib.figure import Figure  # a Figure, never pyplot's global state

        figure = Figure(figsize=(3, 3))
        ax = figure.add_subplot(aspect="equal", xlim=(-1, 1), ylim=(-1, 1))
        ax.fill(*zip(*candidate, strict=True), alpha=0.5)
        return figure


if __name__ == "__main__":
    from qd.archive import Archive
    from qd.search import Search

    domain = Polygons()
    archive = Archive(domain.measures, qd_score_offset=0.0)  # roundness is >= 0
    Search(domain, archive, rng=np.random.default_rng(0), batch_size=32).run(50)
    s, best = archive.stats, archive.best()
    print(f"{s.num_elites} elites, coverage {s.coverage:.1%}, QD score {s.qd_score:.2f}")
    print(f"best roundness {best.objective:.3f} with {len(best.candidate)} vertices")
