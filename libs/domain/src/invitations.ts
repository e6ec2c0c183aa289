/** Whether an invitation link still works, and if not why: an accepted or revoked one stays so past its expiry. */
export type InvitationState = 'pending' | 'accepted' | 'revoked' | 'expired';

export function invitationState(
  i: { acceptedAt: number | null; revokedAt: number | null; expiresAt: number },
  now: number,
): InvitationState {
  if (i.acceptedAt !== null) return 'accepted';
  if (i.revokedAt !== null) return 'revoked';
  return i.expiresAt <= now ? 'expired' : 'pending';
}
