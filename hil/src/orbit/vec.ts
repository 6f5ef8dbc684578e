/** Cartesian vector in km (positions) or km/s (velocities). */
export type Vec3 = { x: number; y: number; z: number };

export const vec = (x: number, y: number, z: number): Vec3 => ({ x, y, z });
export const dot = (a: Vec3, b: Vec3): number => a.x * b.x + a.y * b.y + a.z * b.z;
export const norm = (a: Vec3): number => Math.sqrt(dot(a, a));
export const sub = (a: Vec3, b: Vec3): Vec3 => ({ x: a.x - b.x, y: a.y - b.y, z: a.z - b.z });
export const scale = (a: Vec3, k: number): Vec3 => ({ x: a.x * k, y: a.y * k, z: a.z * k });
export const cross = (a: Vec3, b: Vec3): Vec3 => ({
  x: a.y * b.z - a.z * b.y,
  y: a.z * b.x - a.x * b.z,
  z: a.x * b.y - a.y * b.x,
});

/** Angle between two vectors in radians, via atan2 so it stays accurate near 0 and π (acos of a dot product does not). */
export const angleBetween = (a: Vec3, b: Vec3): number => Math.atan2(norm(cross(a, b)), dot(a, b));

export const isFiniteVec = (a: unknown): a is Vec3 =>
  typeof a === 'object' &&
  a !== null &&
  Number.isFinite((a as Vec3).x) &&
  Number.isFinite((a as Vec3).y) &&
  Number.isFinite((a as Vec3).z);
