import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { z } from 'zod';
import { AuditsItself, CurrentPrincipal, type Principal, Requires, TENANT_ROLES } from '@baton/auth';
import { ApiDoc, parseInput } from '@baton/http';
import { UsersService } from './users.service.js';
import { EmailAddress } from './users.views.js';

const AddUser = z.strictObject({
  email: EmailAddress,
  name: z.string().trim().min(1).max(200),
  // Only for a new account; without one the user cannot log in with a password yet.
  password: z.string().min(12, 'must be at least 12 characters').max(1024).optional(),
  role: z.enum(TENANT_ROLES),
});

const SetRole = z.strictObject({ role: z.enum(TENANT_ROLES) });

/** The members of the caller's tenant (tenant admins). */
@Controller('api/v1/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiDoc({ summary: "The members of the caller's tenant with their roles" })
  @Requires('read', 'User')
  async list(@CurrentPrincipal() p: Principal) {
    return { items: await this.users.list(p) };
  }

  @Post()
  @AuditsItself()
  @ApiDoc({ summary: 'Add a member: creates the user when the email is new', body: AddUser, status: 201 })
  @Requires('create', 'User')
  add(@CurrentPrincipal() p: Principal, @Body() body: unknown) {
    return this.users.add(p, parseInput(AddUser, body));
  }

  @Put(':id/role')
  @AuditsItself()
  @ApiDoc({ summary: "Change a member's role", body: SetRole })
  @Requires('update', 'User')
  setRole(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: unknown) {
    return this.users.setRole(p, id, parseInput(SetRole, body).role);
  }

  @Delete(':id')
  @HttpCode(200)
  @AuditsItself()
  @ApiDoc({ summary: 'Remove a member from the tenant (the account stays); their sessions there end' })
  @Requires('delete', 'User')
  remove(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.users.remove(p, id);
  }
}
