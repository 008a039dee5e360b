# Classes: many small instances with __dict__ and __slots__, inheritance,
# properties, and a cycle the collector has to free.
import gc


class Node:
    def __init__(self, value, parent=None):
        self.value = value
        self.parent = parent
        self.children = []


class Point:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x, self.y = x, y

    @property
    def norm(self):
        return abs(self.x) + abs(self.y)


class Labelled(Point):
    __slots__ = ("label",)


root = Node(0)
for i in range(3000):
    n = Node(i, root if i % 7 else None)
    root.children.append(n)
    n.children.append(root)  # a cycle
pts = [Labelled(i, -i) for i in range(3000)]
print(sum(p.norm for p in pts))
del root, pts
print(gc.collect() > 0)
