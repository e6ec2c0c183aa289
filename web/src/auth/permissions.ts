import { type Route, roleMayCall } from './roles';
import { useSession } from './session';

export type { Route };

/** Whether the signed-in role is offered a control that calls `route` (the API still decides). */
export function useCan(route: Route): boolean {
  return roleMayCall(useSession().role, route);
}
