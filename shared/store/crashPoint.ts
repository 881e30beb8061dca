/**
 * Named points where a test can make the process die as if killed with SIGKILL, so that crash
 * safety is tested at exact moments (between promote and flip, say) and not only wherever a timer
 * happens to land. Inert unless TWOTOWER_CRASH_AT names the point; costs one env lookup.
 */
export function crashPoint(name: string): void {
  if (process.env.TWOTOWER_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
